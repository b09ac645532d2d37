package io.kvw.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.backend.VllmBackendFactory;
import io.kvw.worker.cli.Main;
import io.kvw.worker.openai.OpenAiSchemas;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * An OpenAI Batch input file pushed through Kafka with {@code submit}: chat and completions
 * lines, routed by their model to the model's requests topic, answered by a worker on the
 * simulator; the output file holds one OpenAI Batch output line per input line, in input
 * order, each valid against OpenAI's published schemas.
 */
class OpenAiBatchEndToEndTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private VllmSimulator vllm;

  @TempDir
  Path dir;

  @AfterEach
  void stop() {
    if (vllm != null) {
      vllm.close();
    }
  }

  /** Line {@code i} of the input: chat or completions, a few asking for what is refused. */
  private static ObjectNode line(int i) {
    ObjectNode line = JSON.createObjectNode();
    line.put("custom_id", "req-" + i);
    line.put("method", "POST");
    ObjectNode body = JSON.createObjectNode();
    body.put("model", "sim-model");
    if (i % 2 == 0) {
      line.put("url", "/v1/chat/completions");
      body.putArray("messages").addObject().put("role", "user").put("content",
          "question number " + i);
      body.put("max_completion_tokens", 8);
      if (i % 10 == 0) {
        body.put("logprobs", true);
        body.put("top_logprobs", 2);
      }
    } else {
      line.put("url", "/v1/completions");
      body.put("prompt", "prompt number " + i);
      body.put("max_tokens", 8);
      if (i % 10 == 1) {
        body.put("logprobs", 1);
      }
    }
    if (i % 7 == 0) {
      body.put("n", 2);
      body.put("seed", i);
    }
    if (i % 100 == 99) {
      body.put("suffix", "!"); // refused: the worker does no insertion
    }
    line.set("body", body);
    return line;
  }

  @Test
  void aThousandLineBatchFileComesBackAsOpenAiBatchOutputInInputOrder() throws Exception {
    PipelineHarness h = PipelineHarness.create("openai-batch", 3);
    String unrouted = h.requests + ".unrouted";
    PipelineHarness.kafka().createTopic(unrouted, 1);
    vllm = VllmSimulator.builder().modelName("sim-model").timeToFirstToken(Duration.ofMillis(5))
        .timePerOutputToken(Duration.ZERO).maxNumSeqs(256).build().start();
    int n = 1000;
    List<String> lines = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      lines.add(JSON.writeValueAsString(line(i)));
    }
    Path input = dir.resolve("batch.jsonl");
    Files.write(input, lines);
    Path output = dir.resolve("out.jsonl");
    // the tools' default requests topic has no worker: only routing by model answers
    Path config = dir.resolve("tools.properties");
    Files.writeString(config, String.join("\n",
        "kafka.bootstrap.servers=" + PipelineHarness.kafka().bootstrapServers(),
        "topics.requests=" + unrouted,
        "topics.requests.by-model=other-model=nowhere,sim-model=" + h.requests,
        "topics.results=" + h.results, ""));

    int exit;
    String log;
    try (Worker worker = Worker.start(h.config(vllm.target(), Map.of()),
        new VllmBackendFactory())) {
      ByteArrayOutputStream stderr = new ByteArrayOutputStream();
      PrintStream oldErr = System.err;
      try {
        System.setErr(new PrintStream(stderr, true, StandardCharsets.UTF_8));
        exit = new CommandLine(new Main()).execute("submit", "--config", config.toString(),
            "--input", input.toString(), "--output", output.toString(), "--timeout", "PT2M");
      } finally {
        System.setErr(oldErr);
      }
      log = stderr.toString(StandardCharsets.UTF_8);
    }
    int refused = n / 100;
    assertThat(log).contains("results: " + n + " of " + n + " answered, " + refused
        + " with an error result");
    assertThat(exit).as(log).isEqualTo(4); // every line answered, some with an error result

    List<String> out = Files.readAllLines(output);
    assertThat(out).hasSize(n);
    for (int i = 0; i < n; i++) {
      ObjectNode in = line(i);
      String url = in.get("url").textValue();
      JsonNode result = OpenAiSchemas.assertValidLine(out.get(i),
          url);
      assertThat(result.get("custom_id").textValue()).as("line %d", i).isEqualTo("req-" + i);
      JsonNode response = result.get("response");
      if (i % 100 == 99) {
        assertThat(response.get("status_code").intValue()).isEqualTo(400);
        assertThat(response.at("/body/error/param").textValue()).isEqualTo("suffix");
        continue;
      }
      assertThat(response.get("status_code").intValue()).as(out.get(i)).isEqualTo(200);
      JsonNode body = response.get("body");
      assertThat(body.get("model").textValue()).isEqualTo("sim-model");
      assertThat(body.get("choices")).hasSize(i % 7 == 0 ? 2 : 1);
      JsonNode usage = body.get("usage");
      assertThat(usage.get("total_tokens").intValue()).isEqualTo(
          usage.get("prompt_tokens").intValue() + usage.get("completion_tokens").intValue());
      JsonNode choice = body.at("/choices/0");
      if (url.equals("/v1/completions")) {
        assertThat(body.get("object").textValue()).isEqualTo("text_completion");
        assertThat(choice.get("text").textValue()).isEqualTo(
            vllm.expectedEchoText("prompt number " + i, 8));
        assertThat(choice.get("logprobs").isNull()).isEqualTo(i % 10 != 1);
      } else {
        assertThat(body.get("object").textValue()).isEqualTo("chat.completion");
        assertThat(choice.at("/message/content").textValue()).isNotEmpty();
        assertThat(usage.get("completion_tokens").intValue()).isEqualTo(
            8 * body.get("choices").size());
        assertThat(choice.get("logprobs").isNull()).isEqualTo(i % 10 != 0);
        if (i % 10 == 0) {
          assertThat(choice.at("/logprobs/content")).hasSize(8);
          assertThat(choice.at("/logprobs/content/0/top_logprobs")).hasSize(2);
        }
      }
    }
  }
}
