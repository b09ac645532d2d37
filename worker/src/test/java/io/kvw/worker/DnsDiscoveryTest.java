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
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@code vllm.target=dns:///NAME:PORT}: replicas join and leave while records flow through
 * Kafka. The name's answer comes from a resolver this test controls (DNS itself cannot be
 * steered from a test); the replicas are real simulators on loopback.
 */
class DnsDiscoveryTest {
  private final List<VllmSimulator> sims = new ArrayList<>();

  @AfterEach
  void stopSimulators() {
    sims.forEach(VllmSimulator::close);
  }

  private VllmSimulator simulator() {
    VllmSimulator s = VllmSimulator.builder().modelName("sim-model")
        .timeToFirstToken(Duration.ofMillis(5)).timePerOutputToken(Duration.ofMillis(2))
        .maxNumSeqs(32).build();
    s.start();
    sims.add(s);
    return s;
  }

  @Test
  void replicasJoiningAndLeavingTheNameShareTheWorkAndNoRecordIsLost() throws Exception {
    PipelineHarness h = PipelineHarness.create("dns-discovery", 3);
    VllmSimulator a = simulator();
    VllmSimulator b = simulator();
    VllmSimulator c = simulator();
    AtomicReference<List<String>> answer = new AtomicReference<>(List.of(a.target()));
    AtomicReference<String> askedFor = new AtomicReference<>();
    VllmBackendFactory factory = new VllmBackendFactory((host, port) -> {
      askedFor.set(host + ":" + port);
      return answer::get;
    });

    AtomicBoolean producing = new AtomicBoolean(true);
    AtomicInteger produced = new AtomicInteger();
    Thread producer = new Thread(() -> {
      while (producing.get()) {
        List<ProducerRecord<byte[], byte[]>> batch = new ArrayList<>();
        for (int i = 0; i < 50; i++) {
          int n = produced.getAndIncrement();
          batch.add(h.record("k" + n, PipelineHarness.request("r-" + n, "prompt " + n, "")));
        }
        h.produce(batch);
      }
    }, "test-producer");

    try (Worker worker = Worker.start(h.config("dns:///vllm-headless.test.svc:50051",
        Map.of("vllm.dns.refresh-interval", "100ms")), factory);
        PipelineHarness.Reader reader = h.reader()) {
      assertThat(askedFor.get()).isEqualTo("vllm-headless.test.svc:50051");
      producer.start();
      await().atMost(Duration.ofSeconds(60)).until(() -> a.stats().completed() >= 200);

      answer.set(List.of(a.target(), b.target())); // a second replica joins
      await().atMost(Duration.ofSeconds(60)).until(() -> b.stats().completed() >= 200);
      long aBefore = a.stats().received();
      await().atMost(Duration.ofSeconds(60)).until(() -> a.stats().received() >= aBefore + 100);

      answer.set(List.of(b.target(), c.target())); // the first leaves, a third joins
      await().atMost(Duration.ofSeconds(60)).until(() -> c.stats().completed() >= 200);
      // a takes no new calls once it left the answer (allow the refresh and retire grace)
      Thread.sleep(1_500);
      long aAfterLeaving = a.stats().received();
      long bBefore = b.stats().received();
      await().atMost(Duration.ofSeconds(60)).until(() -> b.stats().received() >= bBefore + 200
          && c.stats().received() >= 400);
      producing.set(false);
      producer.join();

      int n = produced.get();
      reader.readUntil(() -> reader.count(h.results) >= n, Duration.ofSeconds(120))
          .settle(Duration.ofSeconds(1));
      assertThat(a.stats().received()).as("calls to the replica that left").isEqualTo(
          aAfterLeaving);
      // its calls in flight when it left finished rather than being cut off
      assertThat(a.stats().cancelled()).isZero();
      assertThat(a.stats().completed()).isEqualTo(a.stats().received());
      List<InferenceResult> results = reader.results();
      assertThat(reader.count(h.dlq)).isZero();
      assertThat(results).allSatisfy(r -> assertThat(r.isError()).as("%s", r.error()).isFalse());
      Set<String> ids = results.stream().map(InferenceResult::id).collect(Collectors.toSet());
      assertThat(ids).hasSize(n);
      for (int i = 0; i < n; i++) {
        assertThat(ids).contains("r-" + i);
      }
    } finally {
      producing.set(false);
      producer.join();
    }
  }
}
