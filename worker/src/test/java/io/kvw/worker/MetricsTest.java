package io.kvw.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.backend.VllmBackendFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;

/** What an operator scrapes from {@code /metrics} after a run, read as Prometheus would. */
class MetricsTest {
  /** The sum of a metric's samples whose labels contain {@code label}. */
  private static double sample(String body, String name, String label) {
    double sum = 0;
    boolean found = false;
    for (String line : body.split("\n")) {
      if ((line.startsWith(name + " ") || line.startsWith(name + "{")) && line.contains(label)) {
        sum += Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
        found = true;
      }
    }
    assertThat(found).as("%s{%s} is exported", name, label).isTrue();
    return sum;
  }

  @Test
  void outcomesCallsAndTheAdaptiveLimitAreExported() throws Exception {
    PipelineHarness h = PipelineHarness.create("metrics", 2);
    // 8 slots: the adaptive limit must settle near them, far under the ceiling of 128
    try (VllmSimulator vllm = VllmSimulator.builder().timeToFirstToken(Duration.ofMillis(20))
        .maxNumSeqs(8).build().start()) {
      int n = 300;
      List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        records.add(h.record(null, PipelineHarness.request("m-" + i, "metrics " + i, "")));
      }
      records.add(h.record(null, "{not json"));
      h.produce(records);
      try (Worker worker = Worker.start(h.config(vllm.target(), Map.of("http.port", "0",
          "worker.max-in-flight", "128")), new VllmBackendFactory());
          PipelineHarness.Reader reader = h.reader()) {
        reader.readUntil(() -> reader.count(h.results) >= n + 1, Duration.ofSeconds(60));
        String body = PipelineHarness.get(worker, "/metrics").body();

        assertThat(sample(body, "kvw_outcomes_total", "outcome=\"ok\"")).isEqualTo(n);
        assertThat(sample(body, "kvw_outcomes_total", "outcome=\"invalid_request\""))
            .isEqualTo(1);
        assertThat(sample(body, "kvw_backend_calls_total", "status=\"ok\"")).isEqualTo(n);
        assertThat(sample(body, "kvw_backend_limit", "")).isBetween(8.0, 24.0);
      }
    }
  }
}
