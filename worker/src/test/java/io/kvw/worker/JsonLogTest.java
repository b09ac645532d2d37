package io.kvw.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvw.testkit.sim.VllmSimulator;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code log.format=json} as an operator runs it: the worker in its own JVM
 * ({@code Main run --config FILE} with the shipped {@code logback.xml}), its standard output
 * read line by line afterwards.
 */
class JsonLogTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  /** Words of every prompt (and so of every completion: the simulator echoes). */
  private static final String SECRET = "zebra quartz lantern";

  @Test
  void everyLineIsJsonAndEveryRecordLineNamesItsRecordButNeverItsPrompt(@TempDir Path dir)
      throws Exception {
    PipelineHarness h = PipelineHarness.create("json-log", 2);
    try (VllmSimulator vllm = VllmSimulator.builder().build().start()) {
      int n = 10;
      List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        records.add(h.record(null, PipelineHarness.request("jl-" + i, SECRET + " " + i, "")));
      }
      String traceId = "5bf92f3577b34da6a3ce929d0e0e4736";
      ProducerRecord<byte[], byte[]> traced = h.record(null, PipelineHarness.request("jl-traced",
          SECRET, ""));
      traced.headers().add("traceparent", ("00-" + traceId + "-00f067aa0ba902b7-01")
          .getBytes(StandardCharsets.UTF_8));
      records.add(traced);
      records.add(h.record(null, PipelineHarness.request("jl-other-model", SECRET,
          "\"model\":\"not-served\"")));
      h.produce(records);
      int expected = n + 2;

      Map<String, String> settings = new HashMap<>(h.settings(vllm.target(), Map.of(
          "log.format", "json", "log.level", "debug")));
      StringBuilder props = new StringBuilder();
      settings.forEach((k, v) -> props.append(k).append('=').append(v).append('\n'));
      Path config = Files.writeString(dir.resolve("worker.properties"), props);
      Path stdout = dir.resolve("stdout.log");
      Process worker = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin",
          "java").toString(), "-XX:TieredStopAtLevel=1",
          "-Dlogback.configurationFile=logback.xml", // the shipped one, not logback-test.xml
          "-cp", System.getProperty("java.class.path"), "io.kvw.worker.cli.Main", "run",
          "--config", config.toString())
          .redirectOutput(stdout.toFile()).redirectError(dir.resolve("stderr.log").toFile())
          .start();
      try (PipelineHarness.Reader reader = h.reader()) {
        reader.readUntil(() -> reader.count(h.results) >= expected, Duration.ofSeconds(60));
        assertThat(reader.count(h.results)).isEqualTo(expected);
      } finally {
        worker.destroy(); // SIGTERM: drains and exits 0
        assertThat(worker.waitFor(60, TimeUnit.SECONDS)).isTrue();
      }
      assertThat(worker.exitValue()).isZero();

      List<String> lines = Files.readAllLines(stdout).stream().filter(l -> !l.isBlank())
          .toList();
      assertThat(lines).isNotEmpty();
      Set<String> idsLogged = new HashSet<>();
      for (String line : lines) {
        assertThat(line).doesNotContain("zebra");
        JsonNode json = JSON.readTree(line);
        assertThat(json.isObject()).as("one object per line: %s", line).isTrue();
        assertThat(json.has("message") && json.has("level") && json.has("@timestamp"))
            .as(line).isTrue();
        boolean aboutARecord = json.path("message").asText().matches(".*\\bjl-[a-z0-9-]+.*");
        if (aboutARecord) {
          for (String field : List.of("request_id", "topic", "partition", "offset",
              "trace_id", "worker_id")) {
            assertThat(json.hasNonNull(field)).as("%s in %s", field, line).isTrue();
          }
          assertThat(json.get("trace_id").asText()).matches("[0-9a-f]{32}")
              .isNotEqualTo("0".repeat(32));
          assertThat(json.get("topic").asText()).isEqualTo(h.requests);
          assertThat(json.get("message").asText()).contains(json.get("request_id").asText());
          idsLogged.add(json.get("request_id").asText());
          if (json.get("request_id").asText().equals("jl-traced")) {
            assertThat(json.get("trace_id").asText()).isEqualTo(traceId);
          }
        }
      }
      // at debug every record has lines (admitted, answered); the dead letter one at info
      assertThat(idsLogged).hasSize(expected);
      assertThat(lines).anySatisfy(l -> assertThat(JSON.readTree(l).path("level").asText()
          + JSON.readTree(l).path("message").asText()).startsWith("INFO")
          .contains("jl-other-model").contains("unknown_model"));
    }
  }
}
