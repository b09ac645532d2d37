package io.kvw.worker.backend;

/**
 * A failed backend call, already classified. The kind decides the record's path; nothing
 * downstream matches on messages or status codes.
 */
public final class BackendException extends RuntimeException {

  /** DESIGN.md's error taxonomy. */
  public enum Kind {
    /** The request itself is bad (INVALID_ARGUMENT, OUT_OF_RANGE): error result + DLQ, no retry. */
    REJECTED,
    /** This call failed but another may work (DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL, ...). */
    TRANSIENT,
    /** The backend is not reachable or not serving (UNAVAILABLE, connection refused): pause, never DLQ. */
    UNAVAILABLE
  }

  private final Kind kind;
  private final String status;

  public BackendException(Kind kind, String status, String message, Throwable cause) {
    super(message, cause);
    this.kind = kind;
    this.status = status;
  }

  public Kind kind() {
    return kind;
  }

  /** The gRPC status code name, e.g. {@code INVALID_ARGUMENT}; for metrics and logs. */
  public String status() {
    return status;
  }
}
