package io.kvw.worker.observe.trace;

import io.kvw.worker.config.ConfigException;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanId;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceId;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.spi.ConfigurationException;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ThreadLocalRandom;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Where each record's trace comes from: the W3C {@code traceparent} (and {@code tracestate})
 * headers of the request record, or a new trace when it has none.
 *
 * <p>Export is off unless the standard OpenTelemetry variables ask for it
 * ({@code OTEL_TRACES_EXPORTER} set to anything but {@code none}, or
 * {@code OTEL_SDK_DISABLED=false}); then the SDK is configured from the {@code OTEL_*}
 * variables and every record gets a span (consume to published outcome) with a child span per
 * backend call. Off, no SDK exists: a record costs one header parse, or two random numbers for
 * a new trace id, and the context passed on names the upstream span (or the new trace's root)
 * as the parent, since the worker records no span of its own.
 */
public final class Tracing implements AutoCloseable {
  static final W3CTraceContextPropagator W3C = W3CTraceContextPropagator.getInstance();

  private final Tracer tracer; // null while export is off
  private final OpenTelemetrySdk sdk;
  private final String workerId;

  private Tracing(OpenTelemetrySdk sdk, OpenTelemetry api, String workerId) {
    this.sdk = sdk;
    this.tracer = api == null ? null : api.getTracer("io.kvw.worker");
    this.workerId = workerId;
  }

  /** Trace context only: propagated and logged, never exported. */
  public static Tracing contextOnly(String workerId) {
    return new Tracing(null, null, workerId);
  }

  /** Spans through {@code otel} (tests hand in an SDK with an in-memory exporter). */
  public static Tracing exporting(OpenTelemetry otel, String workerId) {
    return new Tracing(null, otel, workerId);
  }

  /** Export as the {@code OTEL_*} variables in {@code env} say; off when they say nothing. */
  public static Tracing fromEnvironment(Map<String, String> env, String workerId) {
    if (!exportRequested(env)) {
      return contextOnly(workerId);
    }
    OpenTelemetrySdk sdk;
    try {
      sdk = AutoConfiguredOpenTelemetrySdk.builder()
          // defaults the variables override: traces only (metrics go through /metrics)
          .addPropertiesSupplier(() -> Map.of("otel.service.name", "kafka-vllm-worker",
              "otel.metrics.exporter", "none", "otel.logs.exporter", "none"))
          .build().getOpenTelemetrySdk();
    } catch (ConfigurationException e) {
      throw new ConfigException("OTEL_*", "cannot configure trace export: " + e.getMessage());
    }
    return new Tracing(sdk, sdk, workerId);
  }

  /** Whether the variables ask for span export (see the class comment). */
  static boolean exportRequested(Map<String, String> env) {
    String disabled = env.getOrDefault("OTEL_SDK_DISABLED", "").trim().toLowerCase(Locale.ROOT);
    if (disabled.equals("true")) {
      return false;
    }
    String exporter = env.getOrDefault("OTEL_TRACES_EXPORTER", "").trim().toLowerCase(Locale.ROOT);
    return disabled.equals("false") && !exporter.equals("none")
        || !exporter.isEmpty() && !exporter.equals("none");
  }

  /** Whether spans are recorded and exported. */
  public boolean exporting() {
    return tracer != null;
  }

  /** The trace of a consumed record: continued from its headers, or a new one. */
  public RecordTrace start(ConsumerRecord<byte[], byte[]> record) {
    Context upstream = W3C.extract(Context.root(), record.headers(), KafkaHeaders.GETTER);
    if (tracer == null) {
      if (!Span.fromContext(upstream).getSpanContext().isValid()) {
        upstream = upstream.with(Span.wrap(newRoot()));
      }
      return new RecordTrace(upstream, null, workerId);
    }
    Span span = tracer.spanBuilder("process " + record.topic()).setParent(upstream)
        .setSpanKind(SpanKind.CONSUMER)
        .setAttribute("messaging.system", "kafka")
        .setAttribute("messaging.operation.type", "process")
        .setAttribute("messaging.destination.name", record.topic())
        .setAttribute("messaging.destination.partition.id", Integer.toString(record.partition()))
        .setAttribute("messaging.kafka.offset", record.offset())
        .setAttribute("kvw.worker.id", workerId)
        .startSpan();
    return new RecordTrace(upstream.with(span), tracer, workerId);
  }

  /** A new trace's root, sampled so that a tracing vLLM records its part of it. */
  private static SpanContext newRoot() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    long hi = r.nextLong();
    long lo = r.nextLong();
    if (hi == 0 && lo == 0) {
      lo = 1; // the all-zero id is invalid
    }
    long span = r.nextLong();
    return SpanContext.create(TraceId.fromLongs(hi, lo), SpanId.fromLong(span == 0 ? 1 : span),
        TraceFlags.getSampled(), TraceState.getDefault());
  }

  /** Flushes and stops the SDK, when there is one. */
  @Override
  public void close() {
    if (sdk != null) {
      sdk.close();
    }
  }
}
