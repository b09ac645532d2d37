package io.kvw.worker.observe.trace;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import org.apache.kafka.common.header.Headers;

/**
 * The trace of one record through this worker: its context (what goes on in the gRPC call's
 * metadata and on the outcome records' headers), its trace id (in every log line about the
 * record), and, while export is on, its span.
 */
public final class RecordTrace {
  /** For records made without a trace (unit tests): an invalid context, nothing propagated. */
  public static final RecordTrace NONE = new RecordTrace(Context.root(), null, "");

  private final Context context;
  private final Tracer tracer; // null: nothing recorded
  private final String workerId;

  RecordTrace(Context context, Tracer tracer, String workerId) {
    this.context = context;
    this.tracer = tracer;
    this.workerId = workerId;
  }

  /** The 32-hex-digit trace id (all zeros for {@link #NONE}). */
  public String traceId() {
    return Span.fromContext(context).getSpanContext().getTraceId();
  }

  /** The worker that handles the record, for log lines. */
  public String workerId() {
    return workerId;
  }

  /** The record's context. */
  public Context context() {
    return context;
  }

  /**
   * Starts one backend call: its context is what the gRPC call carries (make it current around
   * the call); end it with the call's status.
   */
  public Call startCall(String backendRequestId) {
    if (tracer == null) {
      return new Call(context, null);
    }
    Span span = tracer.spanBuilder("vllm.Generate").setParent(context)
        .setSpanKind(SpanKind.CLIENT)
        .setAttribute("rpc.system", "grpc")
        .setAttribute("rpc.service", "vllm.grpc.engine.VllmEngine")
        .setAttribute("rpc.method", "Generate")
        .setAttribute("kvw.backend.request.id", backendRequestId)
        .startSpan();
    return new Call(context.with(span), span);
  }

  /** Writes {@code traceparent} (and {@code tracestate}) into an outgoing record's headers. */
  public void inject(Headers headers) {
    Tracing.W3C.inject(context, headers, KafkaHeaders.SETTER);
  }

  /** Ends the record's span with its outcome ({@code ok} or an error type). */
  public void end(String outcome) {
    if (tracer == null) {
      return;
    }
    Span span = Span.fromContext(context);
    span.setAttribute("kvw.outcome", outcome);
    if (!outcome.equals("ok")) {
      span.setStatus(StatusCode.ERROR, outcome);
    }
    span.end();
  }

  /** One backend call of the record. */
  public static final class Call {
    private final Context context;
    private final Span span; // null: nothing recorded

    Call(Context context, Span span) {
      this.context = context;
      this.span = span;
    }

    public Context context() {
      return context;
    }

    /** Ends the call's span with its gRPC status ({@code ok} or a code name). */
    public void end(String status) {
      if (span == null) {
        return;
      }
      span.setAttribute("rpc.grpc.status", status);
      if (!status.equals("ok")) {
        span.setStatus(StatusCode.ERROR, status);
      }
      span.end();
    }
  }
}
