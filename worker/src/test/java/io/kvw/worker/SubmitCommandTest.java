package io.kvw.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.backend.VllmBackendFactory;
import io.kvw.worker.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
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
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code submit} against the real pipeline: a run killed with SIGKILL halfway, then a rerun
 * with the same output file that sends only what is unanswered and leaves the file in input
 * order.
 */
class SubmitCommandTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private VllmSimulator vllm;

  @TempDir
  Path dir;

  @AfterEach
  void stopSimulator() {
    if (vllm != null) {
      vllm.close();
    }
  }

  static Path toolConfig(PipelineHarness h, Path dir) throws Exception {
    Path config = dir.resolve("worker.properties");
    Files.writeString(config, String.join("\n",
        "kafka.bootstrap.servers=" + PipelineHarness.kafka().bootstrapServers(),
        "kafka.group.id=" + h.group,
        "topics.requests=" + h.requests,
        "topics.results=" + h.results,
        "topics.dlq=" + h.dlq,
        "topics.stream=" + h.stream, ""));
    return config;
  }

  @Test
  void aKilledSubmitRerunSendsOnlyWhatIsUnansweredAndWritesInInputOrder() throws Exception {
    PipelineHarness h = PipelineHarness.create("submit-resume", 3);
    vllm = VllmSimulator.builder().modelName("sim-model").timeToFirstToken(Duration.ofMillis(60))
        .timePerOutputToken(Duration.ZERO).maxNumSeqs(64).build().start();
    int n = 300;
    List<String> prompts = new ArrayList<>();
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      String prompt = "prompt number " + i;
      prompts.add(prompt);
      // three shapes: a bare prompt, our request without an id, our request with one
      lines.add(switch (i % 3) {
        case 0 -> prompt;
        case 1 -> "{\"prompt\":\"" + prompt + "\",\"params\":{\"max_tokens\":16}}";
        default -> "{\"id\":\"mine-" + i + "\",\"prompt\":\"" + prompt + "\"}";
      });
    }
    Path input = dir.resolve("requests.jsonl");
    Files.write(input, lines);
    Path output = dir.resolve("results.jsonl");
    Path config = toolConfig(h, dir);
    try (Worker worker = Worker.start(h.config(vllm.target(), Map.of()),
        new VllmBackendFactory())) {
      // first run in its own JVM, killed once a third of the answers are on disk
      Process first = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java")
          .toString(), "-cp", System.getProperty("java.class.path"), Main.class.getName(),
          "submit", "--config", config.toString(), "--input", input.toString(), "--output",
          output.toString(), "--max-outstanding", "4")
          .redirectErrorStream(true).redirectOutput(dir.resolve("first.log").toFile()).start();
      long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
      while (answered(output) < n / 3 && first.isAlive() && System.nanoTime() < deadline) {
        Thread.sleep(50);
      }
      assertThat(first.isAlive()).as("the first run is still going when killed; log: %s",
          Files.exists(dir.resolve("first.log")) ? Files.readString(dir.resolve("first.log"))
              : "").isTrue();
      first.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      Set<String> answeredBeforeKill = ids(output);
      assertThat(answeredBeforeKill.size()).isBetween(n / 3, n - 1);

      ByteArrayOutputStream stderr = new ByteArrayOutputStream();
      PrintStream oldErr = System.err;
      int exit;
      try {
        System.setErr(new PrintStream(stderr, true, StandardCharsets.UTF_8));
        exit = new CommandLine(new Main()).execute("submit", "--config", config.toString(),
            "--input", input.toString(), "--output", output.toString());
      } finally {
        System.setErr(oldErr);
      }
      String log = stderr.toString(StandardCharsets.UTF_8);
      assertThat(exit).as(log).isZero();
      assertThat(log).contains("results: " + n + " of " + n + " answered, 0 with an error");

      // the file: one answer per input line, in input order
      List<String> out = Files.readAllLines(output);
      assertThat(out).hasSize(n);
      for (int i = 0; i < n; i++) {
        JsonNode r = JSON.readTree(out.get(i));
        assertThat(r.has("error")).as("line %d: %s", i, out.get(i)).isFalse();
        int maxTokens = i % 3 == 1 ? 16 : 4096;
        assertThat(r.get("text").asText()).isEqualTo(vllm.expectedEchoText(prompts.get(i),
            maxTokens));
        if (i % 3 == 2) {
          assertThat(r.get("id").asText()).isEqualTo("mine-" + i);
        } else {
          assertThat(r.get("id").asText()).startsWith("line-" + (i + 1) + "-");
        }
      }

      // the requests topic: ids answered before the kill were sent once, every id at least once
      Map<String, Integer> sends = new HashMap<>();
      try (PipelineHarness.Reader reader = h.new Reader(h.requests)) {
        reader.readUntil(() -> false, Duration.ofSeconds(3));
        for (ConsumerRecord<byte[], byte[]> r : reader.on(h.requests)) {
          sends.merge(JSON.readTree(r.value()).get("id").asText(), 1, Integer::sum);
        }
      }
      assertThat(sends).hasSize(n);
      assertThat(answeredBeforeKill).allSatisfy(id -> assertThat(sends.get(id)).as(id)
          .isEqualTo(1));
      // at most the requests outstanding at the kill were sent again
      int resent = sends.values().stream().mapToInt(c -> c - 1).sum();
      assertThat(resent).isLessThanOrEqualTo(4);
    }
  }

  private static int answered(Path output) throws Exception {
    return ids(output).size();
  }

  private static Set<String> ids(Path output) throws Exception {
    Set<String> ids = new HashSet<>();
    File f = output.toFile();
    if (!f.exists()) {
      return ids;
    }
    for (String line : Files.readAllLines(output)) {
      try {
        ids.add(JSON.readTree(line).get("id").asText());
      } catch (Exception e) {
        // a torn last line of a killed run
      }
    }
    return ids;
  }
}
