package io.kvw.worker.intake.share;

import io.kvw.worker.intake.RecordHandle;

/**
 * One record a share consumer holds, from acquisition to acknowledgement. The pipeline settles
 * it on any thread ({@link #complete()}, {@link #redeliver()}); the lane that acquired the
 * record turns the settled state into an acknowledgement on its own thread, since only the
 * thread that polls a share consumer may acknowledge.
 */
final class ShareTicket implements RecordHandle {

  /** Where the record stands; every state but OPEN is final. */
  enum State {
    /** Acquired; no outcome yet. */
    OPEN,
    /** Its outcome is published and acknowledged by the broker: ACCEPT. */
    COMPLETED,
    /** Transient failures outlasted the retries: RELEASE, for another delivery. */
    REDELIVER,
    /** Given back (drain timeout, outage, lost lock): RELEASE if still held; no outcome. */
    ABANDONED
  }

  private final int partition;
  private final long offset;
  private final boolean lastDelivery;
  private final Runnable onSettled;
  private State state = State.OPEN; // guarded by this

  ShareTicket(int partition, long offset, boolean lastDelivery, Runnable onSettled) {
    this.partition = partition;
    this.offset = offset;
    this.lastDelivery = lastDelivery;
    this.onSettled = onSettled;
  }

  @Override
  public void complete() {
    settle(State.COMPLETED);
  }

  @Override
  public boolean redeliver() {
    return !lastDelivery && settle(State.REDELIVER);
  }

  /** Gives the record back; returns true if it was still open. */
  boolean abandon() {
    return settle(State.ABANDONED);
  }

  @Override
  public synchronized boolean isAbandoned() {
    return state == State.ABANDONED;
  }

  synchronized State state() {
    return state;
  }

  /**
   * True for a record on the group's last delivery: a RELEASE or an expired lock would make
   * the broker archive it unseen, so it is dead-lettered and never given back.
   */
  boolean lastDelivery() {
    return lastDelivery;
  }

  int partition() {
    return partition;
  }

  long offset() {
    return offset;
  }

  private boolean settle(State to) {
    synchronized (this) {
      if (state != State.OPEN) {
        return false;
      }
      state = to;
    }
    onSettled.run();
    return true;
  }

  @Override
  public String toString() {
    return partition + "@" + offset;
  }
}
