package io.kvw.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.kvw.common.InferenceResult;
import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.backend.VllmBackendFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * Delivery guarantees across a change of owner: the offset map keeps finished records from
 * running again, and exactly-once mode shows a read_committed reader each outcome once.
 */
class DeliveryTest {
  /** The worker sends each attempt as {@code <request id>#<suffix>}; count by the request. */
  private static final Function<String, String> REQUEST_ID =
      id -> id.contains("#") ? id.substring(0, id.indexOf('#')) : id;

  private static VllmSimulator simulator() {
    return VllmSimulator.builder().modelName("sim-model").timeToFirstToken(Duration.ofMillis(1))
        .timePerOutputToken(Duration.ZERO).maxNumSeqs(16).build().start();
  }

  @Test
  void finishedRecordsAboveAStuckOneAreNotSentToVllmAgainByTheNextOwner() throws Exception {
    PipelineHarness h = PipelineHarness.create("offset-map", 1);
    try (VllmSimulator vllm = simulator()) {
      int n = 200;
      int held = 37;
      List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        records.add(h.record(null, PipelineHarness.request("m-" + i, "map " + i, "")));
      }
      h.produce(records);
      TopicPartition p0 = new TopicPartition(h.requests, 0);
      CommitSafetyTest.HoldingBackend[] holder = new CommitSafetyTest.HoldingBackend[1];
      try (PipelineHarness.Reader reader = h.reader()) {
        try (Worker first = Worker.start(h.config(vllm.target(),
            Map.of("worker.drain-timeout", "1s", "worker.id", "first",
                "worker.startup-warmup-calls", "0")), (cfg, t) -> {
              holder[0] = new CommitSafetyTest.HoldingBackend(
                  new VllmBackendFactory().connect(cfg, t), "m-" + held);
              return holder[0];
            })) {
          reader.readUntil(() -> reader.count(h.results) >= n - 1, Duration.ofSeconds(60));
          // the commit waits at the held record, and its map carries everything above it
          await().atMost(Duration.ofSeconds(10)).until(() -> {
            var c = h.committed().get(p0);
            return c != null && c.offset() == held && c.metadata().startsWith("kvw1");
          });
        } // drains: the held record is given up after 1 s, never committed
        // the simulator's calls are counted per record: no warm-up calls among them
        try (Worker second = Worker.start(h.config(vllm.target(),
            Map.of("worker.id", "second", "worker.startup-warmup-calls", "0")),
            new VllmBackendFactory())) {
          reader.readUntil(() -> reader.count(h.results) >= n, Duration.ofSeconds(60));
          reader.settle(Duration.ofSeconds(1));
        }
      } finally {
        holder[0].release.countDown();
      }
      Map<String, Integer> calls = vllm.stats().requestLog().callsBy(REQUEST_ID);
      assertThat(calls).hasSize(n);
      assertThat(calls.values()).allMatch(c -> c == 1); // only the held one ran on the second
      assertThat(h.reader().readUntil(() -> false, Duration.ofSeconds(3)).results()
          .stream().map(InferenceResult::id).distinct()).hasSize(n);
    }
  }

  @Test
  void exactlyOnceAReadCommittedConsumerSeesEachOutcomeOnceAcrossAHandOver()
      throws Exception {
    PipelineHarness h = PipelineHarness.create("exactly-once", 3);
    try (VllmSimulator vllm = simulator()) {
      int n = 600;
      int invalid = 0;
      List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        boolean bad = i % 50 == 7;
        invalid += bad ? 1 : 0;
        records.add(h.record("k-" + i, bad ? "{not json" : PipelineHarness.request("e-" + i,
            "exactly once " + i, "")));
      }
      h.produce(records);
      Map<String, String> eos = Map.of("worker.delivery", "exactly-once");
      try (PipelineHarness.Reader reader = h.reader()) {
        try (Worker first = Worker.start(h.config(vllm.target(), withId(eos, "first")),
            new VllmBackendFactory())) {
          reader.readUntil(() -> reader.count(h.results) >= n / 3, Duration.ofSeconds(60));
        }
        try (Worker second = Worker.start(h.config(vllm.target(), withId(eos, "second")),
            new VllmBackendFactory())) {
          reader.readUntil(() -> reader.count(h.results) >= n, Duration.ofSeconds(90));
          reader.settle(Duration.ofSeconds(2));
        }
        List<String> keys = reader.on(h.results).stream()
            .map(r -> new String(r.key())).toList();
        assertThat(keys).hasSize(n).doesNotHaveDuplicates();
        assertThat(reader.count(h.dlq)).isEqualTo(invalid);
      }
      Map<String, Integer> calls = vllm.stats().requestLog().callsBy(REQUEST_ID);
      assertThat(calls).hasSize(n - invalid);
      assertThat(calls.entrySet().stream().filter(e -> e.getValue() > 1)
          .collect(Collectors.toList())).isEmpty();
    }
  }

  private static Map<String, String> withId(Map<String, String> m, String id) {
    Map<String, String> out = new java.util.HashMap<>(m);
    out.put("worker.id", id);
    out.put("worker.startup-warmup-calls", "0"); // calls are counted per record
    return out;
  }
}
