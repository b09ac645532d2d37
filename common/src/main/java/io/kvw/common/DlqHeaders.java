package io.kvw.common;

/** Header names added to a dead-lettered record (CONTRACT.md); values are UTF-8 strings. */
public final class DlqHeaders {
  public static final String ERROR_TYPE = "dlq.error.type";
  public static final String ERROR_MESSAGE = "dlq.error.message";
  public static final String ATTEMPTS = "dlq.attempts";
  public static final String ORIGINAL_TOPIC = "dlq.original.topic";
  public static final String ORIGINAL_PARTITION = "dlq.original.partition";
  public static final String ORIGINAL_OFFSET = "dlq.original.offset";
  public static final String ORIGINAL_TIMESTAMP = "dlq.original.timestamp";
  public static final String WORKER_ID = "dlq.worker.id";

  private DlqHeaders() {}
}
