package io.kvw.worker;

/** The worker could not start: a dependency was not reachable in time. One line, for users. */
public final class StartupException extends RuntimeException {
  public StartupException(String message) {
    super(message);
  }

  public StartupException(String message, Throwable cause) {
    super(message, cause);
  }
}
