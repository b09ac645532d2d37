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
import java.util.stream.Collectors;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/** An outage is not a poison record (DESIGN.md, promise 5). */
class OutageTest {
  private int ready(Worker worker) throws Exception {
    return PipelineHarness.get(worker, "/health/ready").statusCode();
  }

  @Test
  void aBackendOutageNeverReachesTheDlqAndEveryRequestIsAnsweredAfterIt() throws Exception {
    PipelineHarness h = PipelineHarness.create("outage", 3);
    try (VllmSimulator vllm = VllmSimulator.builder().timeToFirstToken(Duration.ofMillis(20))
        .maxNumSeqs(32).build().start()) {
      int n = 3_000;
      List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        records.add(h.record(null, PipelineHarness.request("o-" + i, "outage " + i, "")));
      }
      h.produce(records);
      try (Worker worker = Worker.start(h.config(vllm.target(), Map.of("http.port", "0",
          "worker.max-in-flight", "32")), new VllmBackendFactory());
          PipelineHarness.Reader reader = h.reader()) {
        reader.readUntil(() -> reader.count(h.results) >= 500, Duration.ofSeconds(60));
        await().atMost(Duration.ofSeconds(10)).until(() -> ready(worker) == 200);

        vllm.stopServing(); // connections cut, new ones refused: a crashed vLLM
        await().atMost(Duration.ofSeconds(10)).until(() -> ready(worker) == 503);
        int duringOutage = reader.readUntil(() -> false, Duration.ofSeconds(3)).count(h.results);
        reader.settle(Duration.ofSeconds(2));
        assertThat(reader.count(h.results)).as("nothing is answered while vLLM is down")
            .isEqualTo(duringOutage);
        assertThat(reader.count(h.dlq)).isZero();
        vllm.start();

        reader.readUntil(() -> reader.results().stream().map(InferenceResult::id)
            .collect(Collectors.toSet()).size() >= n, Duration.ofSeconds(90))
            .settle(Duration.ofSeconds(1));
        await().atMost(Duration.ofSeconds(10)).until(() -> ready(worker) == 200);
        Set<String> ids = reader.results().stream().map(InferenceResult::id)
            .collect(Collectors.toSet());
        assertThat(ids).hasSize(n);
        assertThat(reader.results()).allSatisfy(r -> assertThat(r.isError()).isFalse());
        assertThat(reader.count(h.dlq)).isZero();
        assertThat(reader.results()).anySatisfy(r -> assertThat(r.attempts()).isGreaterThan(1));
      }
    }
  }
}
