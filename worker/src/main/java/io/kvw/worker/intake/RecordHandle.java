package io.kvw.worker.intake;

/**
 * The intake seam, record side: all that admission, dispatch and publishing need from wherever
 * a record came from. The publisher calls {@link #complete()} once the record's outcome is
 * durable (acknowledged by the broker, or sent into the open transaction); the intake decides
 * what that frees (a consumer group: the offset, once every earlier one is done; a share group:
 * an ACCEPT acknowledgement). {@link #isAbandoned()} is the other direction: the intake gave the
 * record back to its source (partition revoked, drain timed out, transaction aborted), so the
 * work may stop and its outcome must not be published.
 */
public interface RecordHandle {

  /** The record's outcome is durable. Idempotent; ignored once the record was given back. */
  void complete();

  /** True once the intake gave the record back; it will be delivered again. */
  boolean isAbandoned();

  /**
   * Offers a record whose transient failures outlasted its retries back to its source for
   * another delivery, instead of ending it as {@code retries_exhausted}. Returns true if the
   * source took it (a share group RELEASEs it and the broker counts the delivery; it may go to
   * another replica); false if the record must end here. A consumer group cannot redeliver
   * one record, so the default is false.
   */
  default boolean redeliver() {
    return false;
  }
}
