package io.kvw.worker.publish;

import io.kvw.worker.intake.OffsetCommitter;
import io.kvw.worker.intake.PollLoop;
import io.kvw.worker.ledger.OffsetLedger;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Exactly-once delivery: one producer transaction per commit interval carries the outcomes
 * published in it (results, error results, DLQ records, stream partials) and the offsets,
 * with their offset maps, of the records those outcomes finish (KIP-447: the offsets are
 * committed with the consumer's group metadata, so a worker that lost its partitions is
 * fenced). A {@code read_committed} consumer sees each outcome once.
 *
 * <p>The cycle: outcomes are sent into the open transaction from any thread ({@link #send},
 * the read side of a lock); the intake thread, at each commit interval, takes the write side
 * (no send can race {@code sendOffsetsToTransaction} or {@code commitTransaction}), flushes,
 * so every sent outcome is acknowledged and its ticket complete, takes the ledger's
 * committable offsets, sends them to the transaction, commits, and begins the next one.
 *
 * <p>Failure: a failed send, or a commit the broker refuses (a rebalance moved the group's
 * generation, a transaction timed out), aborts the transaction; the caller then rewinds its
 * partitions to the last commit, so every outcome that was in it is produced again (never
 * lost), and what the last commit's map records as finished is still skipped (never run
 * twice). A fenced producer (another worker took this {@code transactional.id}) cannot abort:
 * its exception propagates and the intake stops, committing nothing more.
 */
public final class TransactionCycle implements OutcomeGate, OffsetCommitter, AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TransactionCycle.class);
  /** How long a commit keeps retrying calls that time out (e.g. during a broker restart). */
  private static final long RETRY_NANOS = java.util.concurrent.TimeUnit.MINUTES.toNanos(5);

  private final Producer<byte[], byte[]> producer;
  private final org.apache.kafka.clients.consumer.Consumer<?, ?> consumer;
  private final OffsetLedger ledger;
  private final ReentrantReadWriteLock lock = new ReentrantReadWriteLock();
  private volatile Exception sendFailure;
  private boolean open;

  public TransactionCycle(Producer<byte[], byte[]> producer,
      org.apache.kafka.clients.consumer.Consumer<?, ?> consumer, OffsetLedger ledger) {
    this.producer = producer;
    this.consumer = consumer;
    this.ledger = ledger;
  }

  /** Registers the transactional id (fencing an older holder) and opens the first one. */
  public void begin() {
    producer.initTransactions();
    producer.beginTransaction();
    open = true;
  }

  @Override
  public void send(Runnable sends) {
    lock.readLock().lock();
    try {
      sends.run();
    } finally {
      lock.readLock().unlock();
    }
  }

  @Override
  public boolean failed(Exception e) {
    sendFailure = e;
    return false;
  }

  @Override
  public void commit(boolean sync, Collection<TopicPartition> only, Consumer<Outcome> then) {
    lock.writeLock().lock();
    try {
      Outcome outcome;
      try {
        producer.flush();
        Exception failure = sendFailure;
        if (failure != null) {
          throw new KafkaException("a send into the transaction failed", failure);
        }
        Map<TopicPartition, OffsetAndMetadata> offsets = ledger.committable();
        if (!offsets.isEmpty()) {
          retryOnTimeout(() -> producer.sendOffsetsToTransaction(offsets,
              consumer.groupMetadata()));
        }
        retryOnTimeout(producer::commitTransaction);
        open = false;
        ledger.committed(offsets);
        if (sync && !offsets.isEmpty()) {
          log.info("committed in a transaction: {}", PollLoop.describe(offsets));
        }
        outcome = Outcome.COMMITTED;
      } catch (KafkaException e) {
        abort(e);
        outcome = Outcome.ABORTED;
      }
      then.accept(outcome);
      producer.beginTransaction();
      open = true;
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public void discard(Consumer<Outcome> then) {
    lock.writeLock().lock();
    try {
      abort(null);
      then.accept(Outcome.ABORTED);
      producer.beginTransaction();
      open = true;
    } finally {
      lock.writeLock().unlock();
    }
  }

  /** Aborts the open transaction; a fatal state (fenced) propagates from the producer. */
  private void abort(KafkaException cause) {
    if (cause != null) {
      log.warn("transaction aborted ({}); its records are read again", cause.toString());
    }
    if (cause instanceof org.apache.kafka.common.errors.ProducerFencedException fenced) {
      throw fenced;
    }
    retryOnTimeout(producer::abortTransaction);
    open = false;
    sendFailure = null;
  }

  /** A timed-out transactional call must be retried as it is before anything else. */
  private static void retryOnTimeout(Runnable call) {
    long deadline = System.nanoTime() + RETRY_NANOS;
    while (true) {
      try {
        call.run();
        return;
      } catch (TimeoutException e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        log.warn("transactional call timed out ({}); trying again", e.toString());
      }
    }
  }

  /** Aborts what is open (nothing of it was committed), so read_committed readers move on. */
  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      if (open) {
        producer.abortTransaction();
        open = false;
      }
    } catch (RuntimeException e) {
      log.debug("abort on close failed: {}", e.toString());
    } finally {
      lock.writeLock().unlock();
    }
  }
}
