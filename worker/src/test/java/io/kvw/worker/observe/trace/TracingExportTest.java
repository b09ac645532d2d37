package io.kvw.worker.observe.trace;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;

/** Span export when it is on, and the environment that turns it on. */
class TracingExportTest {
  private static final String UPSTREAM = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

  private static ConsumerRecord<byte[], byte[]> record(String traceparent) {
    ConsumerRecord<byte[], byte[]> r = new ConsumerRecord<>("requests", 1, 42L, null,
        new byte[0]);
    if (traceparent != null) {
      r.headers().add("traceparent", traceparent.getBytes(StandardCharsets.UTF_8));
    }
    return r;
  }

  private static String header(RecordHeaders headers) {
    return new String(headers.lastHeader("traceparent").value(), StandardCharsets.UTF_8);
  }

  @Test
  void exportIsOffUnlessTheOtelVariablesAskForIt() {
    assertThat(Tracing.exportRequested(Map.of())).isFalse();
    assertThat(Tracing.exportRequested(Map.of("OTEL_TRACES_EXPORTER", "none"))).isFalse();
    assertThat(Tracing.exportRequested(Map.of("OTEL_TRACES_EXPORTER", "otlp"))).isTrue();
    assertThat(Tracing.exportRequested(Map.of("OTEL_SDK_DISABLED", "false"))).isTrue();
    assertThat(Tracing.exportRequested(Map.of("OTEL_SDK_DISABLED", "true",
        "OTEL_TRACES_EXPORTER", "otlp"))).isFalse();
    assertThat(Tracing.fromEnvironment(Map.of(), "w").exporting()).isFalse();
  }

  @Test
  void withoutExportTheUpstreamContextIsPassedOnUnchanged() {
    RecordTrace trace = Tracing.contextOnly("w").start(record(UPSTREAM));
    RecordHeaders out = new RecordHeaders();
    trace.inject(out);
    assertThat(header(out)).isEqualTo(UPSTREAM);
    assertThat(trace.startCall("r#1").context()).isSameAs(trace.context());
  }

  @Test
  void withExportEachRecordHasASpanAndEachCallAChildSpan() {
    InMemorySpanExporter spans = InMemorySpanExporter.create();
    try (OpenTelemetrySdk sdk = OpenTelemetrySdk.builder().setTracerProvider(SdkTracerProvider
        .builder().addSpanProcessor(SimpleSpanProcessor.create(spans)).build()).build()) {
      Tracing tracing = Tracing.exporting(sdk, "w");
      RecordTrace trace = tracing.start(record(UPSTREAM));
      RecordTrace.Call call = trace.startCall("r#1");
      call.end("ok");
      RecordHeaders out = new RecordHeaders();
      trace.inject(out);
      trace.end("ok");

      List<SpanData> done = spans.getFinishedSpanItems();
      assertThat(done).hasSize(2);
      SpanData generate = done.get(0);
      SpanData process = done.get(1);
      assertThat(process.getKind()).isEqualTo(SpanKind.CONSUMER);
      assertThat(process.getTraceId()).isEqualTo("4bf92f3577b34da6a3ce929d0e0e4736");
      assertThat(process.getParentSpanId()).isEqualTo("00f067aa0ba902b7");
      assertThat(generate.getKind()).isEqualTo(SpanKind.CLIENT);
      assertThat(generate.getParentSpanId()).isEqualTo(process.getSpanId());
      // the outcome records name the record's span as their parent
      assertThat(header(out)).contains(process.getSpanId());
    }
  }
}
