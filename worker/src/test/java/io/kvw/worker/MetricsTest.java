package io.kvw.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.backend.VllmBackendFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
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

  /** The values a label takes among a metric's samples. */
  private static Set<String> labelValues(String body, String name, String label) {
    Set<String> values = new TreeSet<>();
    Pattern p = Pattern.compile(label + "=\"([^\"]*)\"");
    for (String line : body.split("\n")) {
      if (line.startsWith(name + "{")) {
        Matcher m = p.matcher(line);
        if (m.find()) {
          values.add(m.group(1));
        }
      }
    }
    return values;
  }

  @Test
  void tokensLatenciesAndLagMatchWhatTheSimulatorServed() throws Exception {
    PipelineHarness h = PipelineHarness.create("metrics-tokens", 2);
    try (VllmSimulator vllm = VllmSimulator.builder().timeToFirstToken(Duration.ofMillis(5))
        .timePerOutputToken(Duration.ofMillis(1)).build().start()) {
      int n = 200;
      List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        records.add(h.record(null, PipelineHarness.request("tok-" + i, "count the tokens of "
            + "request " + i, "\"metadata\":{\"tenant\":\"t" + (i % 4) + "\"}")));
      }
      h.produce(records);
      // the simulator's token counts are checked against the worker's: no warm-up calls
      try (Worker worker = Worker.start(h.config(vllm.target(), Map.of("http.port", "0",
          "metrics.tenant-field", "tenant", "metrics.tenant-max", "2",
          "worker.startup-warmup-calls", "0")),
          new VllmBackendFactory());
          PipelineHarness.Reader reader = h.reader()) {
        reader.readUntil(() -> reader.count(h.results) >= n, Duration.ofSeconds(60));
        assertThat(reader.count(h.results)).isEqualTo(n);
        // the backlog is read every 2 s; once everything is answered it is empty
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
          String body = PipelineHarness.get(worker, "/metrics").body();
          assertThat(sample(body, "kvw_consumer_lag", "partition=")).isZero();
          assertThat(sample(body, "kvw_backlog_drain_seconds", "")).isZero();
        });
        String body = PipelineHarness.get(worker, "/metrics").body();
        assertThat(labelValues(body, "kvw_consumer_lag", "partition"))
            .containsExactly("0", "1");

        assertThat(vllm.stats().completed()).isEqualTo(n);
        assertThat(sample(body, "kvw_prompt_tokens_total", "model=\"sim-model\""))
            .isEqualTo(vllm.stats().promptTokens());
        assertThat(sample(body, "kvw_completion_tokens_total", "model=\"sim-model\""))
            .isEqualTo(vllm.stats().completionTokens()).isPositive();

        // one time to first token per streamed call, in Prometheus buckets
        assertThat(sample(body, "kvw_time_to_first_token_seconds_count", "")).isEqualTo(n);
        assertThat(sample(body, "kvw_time_to_first_token_seconds_bucket", "le=\"+Inf\""))
            .isEqualTo(n);
        assertThat(sample(body, "kvw_time_to_first_token_seconds_bucket", "le=\"0.001\""))
            .as("the simulator waits 5 ms before the first token").isZero();
        assertThat(sample(body, "kvw_time_per_output_token_seconds_count", "")).isEqualTo(n);
        assertThat(sample(body, "kvw_e2e_latency_seconds_count", "")).isEqualTo(n);

        // two tenants keep their names; the rest are counted as other
        Set<String> tenants = labelValues(body, "kvw_prompt_tokens_total", "tenant");
        assertThat(tenants).hasSize(3).contains("other").isSubsetOf("t0", "t1", "t2", "t3",
            "other");
      }
    }
  }
}
