package io.kvw.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvw.common.InferenceResult;
import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.backend.VllmBackendFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The worker end to end: a real KRaft broker in-process, the vLLM simulator on a loopback
 * socket, the real gRPC backend and tokenizer.
 */
class EndToEndTest {
  private VllmSimulator vllm;

  @AfterEach
  void stopSimulator() {
    if (vllm != null) {
      vllm.close();
    }
  }

  private VllmSimulator simulator(Duration ttft, Duration tpot, int maxNumSeqs) {
    vllm = VllmSimulator.builder().modelName("sim-model").timeToFirstToken(ttft)
        .timePerOutputToken(tpot).maxNumSeqs(maxNumSeqs).build();
    vllm.start();
    return vllm;
  }

  @Test
  void tenThousandRequestsGetExactlyTenThousandResultsWithTheirIdsAndTexts() {
    PipelineHarness h = PipelineHarness.create("ten-thousand", 3);
    simulator(Duration.ofMillis(2), Duration.ZERO, 256);
    int n = 10_000;
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      records.add(h.record("k" + i, PipelineHarness.request("r-" + i, "prompt number " + i,
          "\"metadata\":{\"i\":" + i + "}")));
    }
    h.produce(records);
    try (Worker worker = Worker.start(h.config(vllm.target(), Map.of()),
        new VllmBackendFactory());
        PipelineHarness.Reader reader = h.reader()) {
      reader.readUntil(() -> reader.count(h.results) >= n, Duration.ofSeconds(120))
          .settle(Duration.ofSeconds(1));
      List<InferenceResult> results = reader.results();
      assertThat(results).hasSize(n);
      assertThat(reader.count(h.dlq)).isZero();
      Map<String, InferenceResult> byId = results.stream()
          .collect(Collectors.toMap(InferenceResult::id, Function.identity()));
      assertThat(byId).hasSize(n);
      for (int i = 0; i < n; i++) {
        InferenceResult r = byId.get("r-" + i);
        assertThat(r.isError()).as("r-%d error %s", i, r.error()).isFalse();
        assertThat(r.text()).isEqualTo("prompt number " + i);
        assertThat(r.outputs().get(0).finishReason()).isEqualTo("stop");
        assertThat(r.metadata().get("i").asInt()).isEqualTo(i);
        assertThat(r.attempts()).isEqualTo(1);
        assertThat(r.usage().completionTokens()).isPositive();
      }
      // results are keyed by the request's key
      assertThat(reader.on(h.results)).allSatisfy(rec -> assertThat(new String(rec.key()))
          .startsWith("k"));
    }
  }

  @Test
  void aWorkerStoppedMidStreamAndStartedAgainAnswersEveryRequest() throws Exception {
    PipelineHarness h = PipelineHarness.create("restart", 3);
    simulator(Duration.ofMillis(5), Duration.ofMillis(1), 64);
    int n = 4_000;
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      records.add(h.record(null, PipelineHarness.request("r-" + i, "restart " + i, "")));
    }
    h.produce(records);
    // no drain time: whatever is in flight when it stops is abandoned, uncommitted
    Map<String, String> abrupt = Map.of("worker.drain-timeout", "0ms",
        "worker.max-in-flight", "64");
    try (PipelineHarness.Reader reader = h.reader()) {
      try (Worker first = Worker.start(h.config(vllm.target(), abrupt),
          new VllmBackendFactory())) {
        reader.readUntil(() -> reader.count(h.results) >= n / 4, Duration.ofSeconds(60));
      }
      int afterFirst = reader.count(h.results);
      assertThat(afterFirst).isLessThan(n);
      try (Worker second = Worker.start(h.config(vllm.target(), abrupt),
          new VllmBackendFactory())) {
        Set<String> seen = new HashSet<>();
        reader.readUntil(() -> {
          reader.results().forEach(r -> seen.add(r.id()));
          return seen.size() >= n;
        }, Duration.ofSeconds(90));
      }
      List<InferenceResult> results = reader.results();
      Map<String, Long> perId = results.stream()
          .collect(Collectors.groupingBy(InferenceResult::id, Collectors.counting()));
      Set<String> missing = new HashSet<>();
      for (int i = 0; i < n; i++) {
        if (!perId.containsKey("r-" + i)) {
          missing.add("r-" + i);
        }
      }
      long duplicates = results.size() - perId.size();
      System.out.printf("restart: %d requests, %d results, %d duplicates, %d missing%n", n,
          results.size(), duplicates, missing.size());
      assertThat(missing).isEmpty();
      assertThat(results).allSatisfy(r -> assertThat(r.isError()).isFalse());
    }
  }

  @Test
  void streamingRequestsPublishPartialOutputsEndingInTheFinalText() {
    PipelineHarness h = PipelineHarness.create("stream", 1);
    // tokens 20 ms apart: a loaded machine whose timers run late still sees several chunks
    simulator(Duration.ofMillis(5), Duration.ofMillis(20), 8);
    h.produce(List.of(h.record("s", PipelineHarness.request("s-1",
        "a streamed answer arrives in pieces", "\"stream\":true"))));
    try (Worker worker = Worker.start(h.config(vllm.target(), Map.of()),
        new VllmBackendFactory());
        PipelineHarness.Reader reader = h.new Reader(h.results, h.stream)) {
      reader.readUntil(() -> reader.count(h.results) >= 1, Duration.ofSeconds(30))
          .settle(Duration.ofMillis(500));
      assertThat(reader.count(h.stream)).isGreaterThan(1);
      var last = reader.on(h.stream).get(reader.count(h.stream) - 1);
      assertThat(new String(last.value())).contains("a streamed answer arrives in pieces");
      assertThat(reader.results().get(0).text()).isEqualTo(
          "a streamed answer arrives in pieces");
    }
  }

  /** Counts how often each value occurs. */
  static <T> Map<T, Integer> histogram(List<T> values) {
    Map<T, Integer> m = new HashMap<>();
    values.forEach(v -> m.merge(v, 1, Integer::sum));
    return m;
  }
}
