package io.kvw.worker.backend.vllm;

import io.grpc.Status;
import io.kvw.worker.backend.BackendException;

/**
 * Maps a gRPC status to DESIGN.md's error taxonomy. The one place that knows status codes:
 * the dispatcher only sees {@link BackendException.Kind}.
 */
public final class StatusClassifier {
  private StatusClassifier() {}

  public static BackendException.Kind kindOf(Status.Code code) {
    return switch (code) {
      // the request itself is bad: retrying cannot help
      case INVALID_ARGUMENT, OUT_OF_RANGE, FAILED_PRECONDITION, UNIMPLEMENTED, NOT_FOUND,
          ALREADY_EXISTS, PERMISSION_DENIED, UNAUTHENTICATED -> BackendException.Kind.REJECTED;
      // the server is not there: nobody's fault, wait for it
      case UNAVAILABLE -> BackendException.Kind.UNAVAILABLE;
      // this call failed; another attempt may not
      default -> BackendException.Kind.TRANSIENT;
    };
  }

  /** The exception for a failed call. */
  public static BackendException toException(Throwable t) {
    Status status = Status.fromThrowable(t);
    String description = status.getDescription() != null ? status.getDescription()
        : status.getCode().name();
    return new BackendException(kindOf(status.getCode()), status.getCode().name(),
        description.length() > 500 ? description.substring(0, 500) + "…" : description, t);
  }
}
