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
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
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
    // a steady 400 records a second, well within what three replicas serve, for as long as
    // the replicas come and go
    Thread producer = new Thread(() -> {
      Properties p = new Properties();
      p.put("bootstrap.servers", PipelineHarness.kafka().bootstrapServers());
      try (KafkaProducer<byte[], byte[]> out = new KafkaProducer<>(p, new ByteArraySerializer(),
          new ByteArraySerializer())) {
        while (producing.get()) {
          for (int i = 0; i < 20; i++) {
            int n = produced.get();
            out.send(h.record("k" + n, PipelineHarness.request("r-" + n, "prompt " + n, "")));
            produced.incrementAndGet();
          }
          out.flush();
          Thread.sleep(50);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "test-producer");

    try (Worker worker = Worker.start(h.config("dns:///vllm-headless.test.svc:50051",
        // each replica's call count is checked: no warm-up calls in it
        Map.of("vllm.dns.refresh-interval", "100ms", "worker.startup-warmup-calls", "0")),
        factory);
        PipelineHarness.Reader reader = h.reader()) {
      assertThat(askedFor.get()).isEqualTo("vllm-headless.test.svc:50051");
      producer.start();
      await().atMost(Duration.ofSeconds(60)).until(() -> a.stats().completed() >= 100);

      answer.set(List.of(a.target(), b.target())); // a second replica joins
      await().atMost(Duration.ofSeconds(60)).until(() -> b.stats().completed() >= 100);
      long aBefore = a.stats().received();
      await().atMost(Duration.ofSeconds(60)).until(() -> a.stats().received() >= aBefore + 50);

      answer.set(List.of(b.target(), c.target())); // the first leaves, a third joins
      await().atMost(Duration.ofSeconds(60)).until(() -> c.stats().completed() >= 100);
      // a takes no new calls once it left the answer (allow the refresh and retire grace)
      Thread.sleep(1_500);
      long aAfterLeaving = a.stats().received();
      long bBefore = b.stats().received();
      await().atMost(Duration.ofSeconds(60)).until(() -> b.stats().received() >= bBefore + 100
          && c.stats().received() >= 200);
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
