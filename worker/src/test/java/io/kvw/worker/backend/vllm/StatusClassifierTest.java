package io.kvw.worker.backend.vllm;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.kvw.worker.backend.BackendException.Kind;
import java.net.ConnectException;
import java.util.EnumMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class StatusClassifierTest {

  @Test
  void everyStatusCodeHasItsKind() {
    Map<Status.Code, Kind> expected = new EnumMap<>(Status.Code.class);
    expected.put(Status.Code.INVALID_ARGUMENT, Kind.REJECTED);
    expected.put(Status.Code.OUT_OF_RANGE, Kind.REJECTED);
    expected.put(Status.Code.NOT_FOUND, Kind.REJECTED);
    expected.put(Status.Code.ALREADY_EXISTS, Kind.REJECTED);
    expected.put(Status.Code.UNAVAILABLE, Kind.UNAVAILABLE);
    expected.put(Status.Code.UNAUTHENTICATED, Kind.UNAVAILABLE);
    expected.put(Status.Code.PERMISSION_DENIED, Kind.UNAVAILABLE);
    expected.put(Status.Code.UNIMPLEMENTED, Kind.UNAVAILABLE);
    expected.put(Status.Code.DEADLINE_EXCEEDED, Kind.TRANSIENT);
    expected.put(Status.Code.RESOURCE_EXHAUSTED, Kind.TRANSIENT);
    expected.put(Status.Code.INTERNAL, Kind.TRANSIENT);
    expected.put(Status.Code.UNKNOWN, Kind.TRANSIENT);
    expected.put(Status.Code.ABORTED, Kind.TRANSIENT);
    expected.put(Status.Code.CANCELLED, Kind.TRANSIENT);
    expected.put(Status.Code.DATA_LOSS, Kind.TRANSIENT);
    expected.put(Status.Code.FAILED_PRECONDITION, Kind.TRANSIENT);
    expected.put(Status.Code.OK, Kind.TRANSIENT);
    assertThat(expected.keySet()).containsExactlyInAnyOrder(Status.Code.values());
    expected.forEach((code, kind) ->
        assertThat(StatusClassifier.kindOf(code)).as(code.name()).isEqualTo(kind));
  }

  @Test
  void aRefusedConnectionIsUnavailable() {
    // what grpc-netty reports when nothing listens on the port
    var e = StatusClassifier.toException(Status.UNAVAILABLE.withDescription("io exception")
        .withCause(new ConnectException("Connection refused")).asRuntimeException());
    assertThat(e.kind()).isEqualTo(Kind.UNAVAILABLE);
    assertThat(e.status()).isEqualTo("UNAVAILABLE");
  }

  @Test
  void theMessageIsTheStatusDescriptionCutToALogLine() {
    var e = StatusClassifier.toException(Status.INVALID_ARGUMENT
        .withDescription("x".repeat(2000)).asRuntimeException());
    assertThat(e.kind()).isEqualTo(Kind.REJECTED);
    assertThat(e.getMessage()).hasSize(501).endsWith("…");
    assertThat(StatusClassifier.toException(Status.INTERNAL.asRuntimeException()).getMessage())
        .isEqualTo("INTERNAL");
  }
}
