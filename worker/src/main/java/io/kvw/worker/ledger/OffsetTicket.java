package io.kvw.worker.ledger;

import io.kvw.worker.intake.RecordHandle;
import org.apache.kafka.common.TopicPartition;

/**
 * One consumed record's place in the {@link OffsetLedger}. The pipeline carries it from poll
 * to outcome and calls {@link #complete()} once the outcome is acknowledged by the broker.
 *
 * <p>Completion is a volatile write and may happen on any thread; only the intake thread reads
 * the ledger's queues, so no lock is needed between the two.
 */
public final class OffsetTicket implements RecordHandle {
  private final TopicPartition partition;
  private final long offset;
  private final OffsetLedger ledger;
  private volatile boolean completed;
  private volatile boolean abandoned;

  OffsetTicket(TopicPartition partition, long offset, OffsetLedger ledger, boolean completed) {
    this.partition = partition;
    this.offset = offset;
    this.ledger = ledger;
    this.completed = completed;
  }

  public TopicPartition partition() {
    return partition;
  }

  public long offset() {
    return offset;
  }

  /**
   * Marks the record's outcome as durably published. Idempotent; ignored once the ticket was
   * abandoned (its partition was revoked and its offset will be read again by the next owner).
   */
  @Override
  public void complete() {
    synchronized (this) {
      if (completed || abandoned) {
        return;
      }
      completed = true;
    }
    ledger.onTicketDone();
  }

  public boolean isCompleted() {
    return completed;
  }

  /**
   * True once the partition was revoked or the worker gave up on this record during a drain:
   * the work may stop, its outcome will not be committed.
   */
  @Override
  public boolean isAbandoned() {
    return abandoned;
  }

  /** Returns true if this call abandoned a ticket that was still open. */
  boolean abandon() {
    synchronized (this) {
      if (completed || abandoned) {
        return false;
      }
      abandoned = true;
    }
    ledger.onTicketDone();
    return true;
  }

  @Override
  public String toString() {
    return partition + "@" + offset;
  }
}
