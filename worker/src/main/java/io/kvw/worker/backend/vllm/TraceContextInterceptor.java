package io.kvw.worker.backend.vllm;

import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.ClientInterceptor;
import io.grpc.ForwardingClientCall;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapSetter;

/**
 * Puts the current OpenTelemetry context into each call's metadata as W3C {@code traceparent}
 * and {@code tracestate}, so vLLM (which reads them when started with tracing) continues the
 * record's trace. The dispatcher makes the record's context current around the call; calls
 * made outside one (health checks, loads) carry nothing.
 */
final class TraceContextInterceptor implements ClientInterceptor {
  static final TraceContextInterceptor INSTANCE = new TraceContextInterceptor();

  /** The keys W3C propagation writes, made once: a key checks and copies its name. */
  private static final Metadata.Key<String> TRACEPARENT = key("traceparent");
  private static final Metadata.Key<String> TRACESTATE = key("tracestate");

  private static final TextMapSetter<Metadata> SETTER = (md, key, value) ->
      md.put(key.equals("traceparent") ? TRACEPARENT : key.equals("tracestate") ? TRACESTATE
          : key(key), value);

  private TraceContextInterceptor() {}

  private static Metadata.Key<String> key(String name) {
    return Metadata.Key.of(name, Metadata.ASCII_STRING_MARSHALLER);
  }

  @Override
  public <Q, R> ClientCall<Q, R> interceptCall(MethodDescriptor<Q, R> method,
      CallOptions options, Channel next) {
    return new ForwardingClientCall.SimpleForwardingClientCall<>(next.newCall(method, options)) {
      @Override
      public void start(Listener<R> listener, Metadata headers) {
        // start runs on the thread that made the call, where the record's context is current
        W3CTraceContextPropagator.getInstance().inject(Context.current(), headers, SETTER);
        super.start(listener, headers);
      }
    };
  }
}
