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
      // the request itself is bad: retrying cannot help. vLLM answers INVALID_ARGUMENT for
      // every client error (prompt too long, bad sampling value) and NOT_FOUND for an unknown
      // model or adapter
      case INVALID_ARGUMENT, OUT_OF_RANGE, NOT_FOUND, ALREADY_EXISTS ->
          BackendException.Kind.REJECTED;
      // the server is not there, or not serving us: a wrong credential or a target that is
      // not vLLM's gRPC service would fail every record alike, so records wait for the
      // operator instead of filling the dead-letter topic
      case UNAVAILABLE, UNAUTHENTICATED, PERMISSION_DENIED, UNIMPLEMENTED ->
          BackendException.Kind.UNAVAILABLE;
      // this call failed; another attempt may not: DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED
      // (vLLM's admission control), INTERNAL, UNKNOWN, ABORTED, DATA_LOSS, CANCELLED when the
      // server or a proxy cancels (a cancel of our own never reaches the caller), and
      // FAILED_PRECONDITION, which vLLM does not send: "the server is not in a state to do
      // this" clears with time, and bounded retries end a record that keeps meeting it
      case OK, CANCELLED, UNKNOWN, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL,
          DATA_LOSS, FAILED_PRECONDITION -> BackendException.Kind.TRANSIENT;
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
