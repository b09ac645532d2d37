package io.kvw.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.backend.VllmBackendFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

/**
 * W3C trace context through the worker: a request's {@code traceparent} reaches vLLM's call
 * metadata and comes back on the result, stream and DLQ records with the same trace id; a request
 * without one gets a new trace, carried the same way.
 */
class TracingTest {
  private static final String TRACE_OK = "4bf92f3577b34da6a3ce929d0e0e4736";
  private static final String TRACE_BAD = "0af7651916cd43dd8448eb211c80319c";

  private static String traceparent(String traceId) {
    return "00-" + traceId + "-00f067aa0ba902b7-01";
  }

  /** The trace id of a {@code traceparent} value. */
  private static String traceIdOf(String traceparent) {
    assertThat(traceparent).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]");
    return traceparent.substring(3, 35);
  }

  private static Optional<String> header(ConsumerRecord<byte[], byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? Optional.empty() : Optional.of(new String(h.value(),
        StandardCharsets.UTF_8));
  }

  private static ConsumerRecord<byte[], byte[]> byKey(List<ConsumerRecord<byte[], byte[]>> rs,
      String key) {
    return rs.stream().filter(r -> new String(r.key(), StandardCharsets.UTF_8).equals(key))
        .findFirst().orElseThrow(() -> new AssertionError("no record with key " + key));
  }

  /** The traceparent the simulator saw on the call for {@code requestId} (any attempt). */
  private static String seenByVllm(VllmSimulator vllm, String requestId) {
    return vllm.traces().all().entrySet().stream()
        .filter(e -> e.getKey().startsWith(requestId + "#")).map(Map.Entry::getValue)
        .findFirst().orElseThrow(() -> new AssertionError("vLLM saw no traceparent for "
            + requestId + ": " + vllm.traces().all()));
  }

  @Test
  void aRequestsTraceReachesVllmAndComesBackOnItsResultAndDeadLetter() {
    PipelineHarness h = PipelineHarness.create("tracing", 2);
    try (VllmSimulator vllm = VllmSimulator.builder().build().start()) {
      ProducerRecord<byte[], byte[]> traced = h.record("ok", PipelineHarness.request("t-ok",
          "hello traced world", "\"stream\":true"));
      traced.headers().add("traceparent", traceparent(TRACE_OK).getBytes(StandardCharsets.UTF_8))
          .add("tracestate", "vendor=abc".getBytes(StandardCharsets.UTF_8));
      ProducerRecord<byte[], byte[]> tracedBad = h.record("bad", PipelineHarness.request("t-bad",
          "for another model", "\"model\":\"not-served\""));
      tracedBad.headers().add("traceparent", traceparent(TRACE_BAD)
          .getBytes(StandardCharsets.UTF_8));
      h.produce(List.of(traced, tracedBad,
          h.record("new", PipelineHarness.request("t-new", "no trace yet", "")),
          h.record("broken", "{not json")));
      try (Worker worker = Worker.start(h.config(vllm.target(), Map.of()),
          new VllmBackendFactory());
          PipelineHarness.Reader reader = h.new Reader(h.results, h.dlq, h.stream)) {
        reader.readUntil(() -> reader.count(h.results) >= 4 && reader.count(h.dlq) >= 2,
            Duration.ofSeconds(30));
        List<ConsumerRecord<byte[], byte[]>> results = reader.on(h.results);
        List<ConsumerRecord<byte[], byte[]>> dlq = reader.on(h.dlq);

        // continued: vLLM's call metadata, the result, with the upstream's tracestate
        assertThat(traceIdOf(seenByVllm(vllm, "t-ok"))).isEqualTo(TRACE_OK);
        ConsumerRecord<byte[], byte[]> ok = byKey(results, "ok");
        assertThat(traceIdOf(header(ok, "traceparent").orElseThrow())).isEqualTo(TRACE_OK);
        assertThat(header(ok, "tracestate")).contains("vendor=abc");
        assertThat(reader.on(h.stream)).as("partial outputs").isNotEmpty().allSatisfy(p ->
            assertThat(traceIdOf(header(p, "traceparent").orElseThrow())).isEqualTo(TRACE_OK));

        // an error result and its dead letter keep the request's trace
        assertThat(traceIdOf(header(byKey(results, "bad"), "traceparent").orElseThrow()))
            .isEqualTo(TRACE_BAD);
        assertThat(traceIdOf(header(byKey(dlq, "bad"), "traceparent").orElseThrow()))
            .isEqualTo(TRACE_BAD);

        // no traceparent: the worker starts a trace, and everything downstream carries it
        String started = traceIdOf(header(byKey(results, "new"), "traceparent").orElseThrow());
        assertThat(started).isNotEqualTo("0".repeat(32)).isNotIn(TRACE_OK, TRACE_BAD);
        assertThat(traceIdOf(seenByVllm(vllm, "t-new"))).isEqualTo(started);
        String broken = traceIdOf(header(byKey(results, "broken"), "traceparent")
            .orElseThrow());
        assertThat(traceIdOf(header(byKey(dlq, "broken"), "traceparent").orElseThrow()))
            .isEqualTo(broken).isNotEqualTo(started);
      }
    }
  }
}
