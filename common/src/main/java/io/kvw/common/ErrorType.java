package io.kvw.common;

/** The error types of CONTRACT.md; {@link #wireName()} is what appears in JSON and headers. */
public enum ErrorType {
  INVALID_REQUEST("invalid_request"),
  UNKNOWN_MODEL("unknown_model"),
  EXPIRED("expired"),
  BACKEND_REJECTED("backend_rejected"),
  RETRIES_EXHAUSTED("retries_exhausted"),
  /** Share-group intake only: the broker delivered the record its maximum number of times. */
  DELIVERY_LIMIT("delivery_limit");

  private final String wireName;

  ErrorType(String wireName) {
    this.wireName = wireName;
  }

  public String wireName() {
    return wireName;
  }

  public static ErrorType fromWireName(String name) {
    for (ErrorType t : values()) {
      if (t.wireName.equals(name)) {
        return t;
      }
    }
    throw new IllegalArgumentException("unknown error type: " + name);
  }
}
