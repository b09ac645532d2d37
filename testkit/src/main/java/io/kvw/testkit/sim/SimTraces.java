package io.kvw.testkit.sim;

import io.grpc.ForwardingServerCallListener;
import io.grpc.Metadata;
import io.grpc.ServerCall;
import io.grpc.ServerCallHandler;
import io.grpc.ServerInterceptor;
import io.kvw.proto.vllm.GenerateRequest;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The W3C {@code traceparent} metadata each {@code Generate} call arrived with, by request id,
 * as a tracing vLLM would read it. Keeps the latest {@value #KEPT} calls, so a benchmark's
 * millions of calls cost no more memory than a test's few.
 */
public final class SimTraces implements ServerInterceptor {
  static final int KEPT = 10_000;
  private static final Metadata.Key<String> TRACEPARENT =
      Metadata.Key.of("traceparent", Metadata.ASCII_STRING_MARSHALLER);

  private final Map<String, String> byRequestId = new LinkedHashMap<>(64, 0.75f, false) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
      return size() > KEPT;
    }
  };

  /** The traceparent of the call with this request id (as sent to vLLM), if it had one. */
  public synchronized Optional<String> traceparent(String requestId) {
    return Optional.ofNullable(byRequestId.get(requestId));
  }

  /** Every kept request id with the traceparent it carried. */
  public synchronized Map<String, String> all() {
    return Map.copyOf(byRequestId);
  }

  @Override
  public <Q, R> ServerCall.Listener<Q> interceptCall(ServerCall<Q, R> call, Metadata headers,
      ServerCallHandler<Q, R> next) {
    String traceparent = headers.get(TRACEPARENT);
    ServerCall.Listener<Q> listener = next.startCall(call, headers);
    if (traceparent == null) {
      return listener;
    }
    return new ForwardingServerCallListener.SimpleForwardingServerCallListener<>(listener) {
      @Override
      public void onMessage(Q message) {
        if (message instanceof GenerateRequest g) {
          record(g.getRequestId(), traceparent);
        }
        super.onMessage(message);
      }
    };
  }

  private synchronized void record(String requestId, String traceparent) {
    byRequestId.put(requestId, traceparent);
  }
}
