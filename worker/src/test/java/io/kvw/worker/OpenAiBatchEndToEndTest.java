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
 * An OpenAI Batch input file pushed through Kafka with {@code submit}: chat, completions and
 * embeddings lines, routed by their model to the model's requests topic, answered by one
 * worker on a generation-model simulator and one on an embedding-model simulator; the output
 * file holds one OpenAI Batch output line per input line, in input
 * order, each valid against OpenAI's published schemas.
 */
class OpenAiBatchEndToEndTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private VllmSimulator vllm;
  private VllmSimulator embedder;

  @TempDir
  Path dir;

  @AfterEach
  void stop() {
    if (vllm != null) {
      vllm.close();
    }
    if (embedder != null) {
      embedder.close();
    }
  }

  private static final int DIM = 16;

  /**
   * Line {@code i} of the input: embeddings every fifth line (for the embedding model), else
   * chat or completions (for the generation model); every hundredth asks for what is refused.
   */
  private static ObjectNode line(int i) {
    ObjectNode line = JSON.createObjectNode();
    line.put("custom_id", "req-" + i);
    line.put("method", "POST");
    ObjectNode body = JSON.createObjectNode();
    if (i % 5 == 4) {
      line.put("url", "/v1/embeddings");
      body.put("model", "sim-embed");
      if (i % 3 == 0) {
        body.putArray("input").add("first text " + i).add("second text " + i);
      } else {
        body.put("input", "text number " + i);
      }
      if (i % 10 == 9) {
        body.put("encoding_format", "base64");
      }
    } else if (i % 2 == 0) {
      line.put("url", "/v1/chat/completions");
      body.put("model", "sim-model");
      body.putArray("messages").addObject().put("role", "user").put("content",
          "question number " + i);
      body.put("max_completion_tokens", 8);
      if (i % 10 == 0) {
        body.put("logprobs", true);
        body.put("top_logprobs", 2);
      }
    } else {
      line.put("url", "/v1/completions");
      body.put("model", "sim-model");
      body.put("prompt", "prompt number " + i);
      body.put("max_tokens", 8);
      if (i % 10 == 1) {
        body.put("logprobs", 1);
      }
    }
    if (i % 7 == 0 && i % 5 != 4) {
      body.put("n", 2);
      body.put("seed", i);
    }
    if (i % 100 == 99) {
      body.put("suffix", "!"); // refused: the worker does no insertion
    }
    line.set("body", body);
    return line;
  }

  /** The texts an embeddings line asks for, in input order. */
  private static List<String> texts(JsonNode body) {
    List<String> out = new ArrayList<>();
    JsonNode input = body.get("input");
    if (input.isTextual()) {
      out.add(input.textValue());
    } else {
      input.forEach(t -> out.add(t.textValue()));
    }
    return out;
  }

  @Test
  void aThousandLineBatchFileComesBackAsOpenAiBatchOutputInInputOrder() throws Exception {
    PipelineHarness h = PipelineHarness.create("openai-batch", 3);
    String unrouted = h.requests + ".unrouted";
    PipelineHarness.kafka().createTopic(unrouted, 1);
    String embedRequests = h.requests + ".embed";
    PipelineHarness.kafka().createTopic(embedRequests, 2);
    vllm = VllmSimulator.builder().modelName("sim-model").timeToFirstToken(Duration.ofMillis(5))
        .timePerOutputToken(Duration.ZERO).maxNumSeqs(256).build().start();
    embedder = VllmSimulator.builder().modelName("sim-embed").embeddingDim(DIM)
        .timeToFirstToken(Duration.ofMillis(2)).maxNumSeqs(256).build().start();
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
        "topics.requests.by-model=sim-embed=" + embedRequests + ",sim-model=" + h.requests,
        "topics.results=" + h.results, ""));

    int exit;
    String log;
    // one worker deployment per model: each reads its own requests topic, results are shared
    try (Worker worker = Worker.start(h.config(vllm.target(), Map.of()),
            new VllmBackendFactory());
        Worker embedding = Worker.start(h.config(embedder.target(), Map.of(
            "topics.requests", embedRequests, "kafka.group.id", h.group + "-embed")),
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
      if (url.equals("/v1/embeddings")) {
        assertThat(body.get("model").textValue()).isEqualTo("sim-embed");
        List<String> texts = texts(in.get("body"));
        assertThat(body.get("data")).hasSize(texts.size());
        int tokens = 0;
        for (int k = 0; k < texts.size(); k++) {
          int[] ids = embedder.tokenizer().encode(texts.get(k), true);
          tokens += ids.length;
          JsonNode item = body.get("data").get(k);
          assertThat(item.get("index").intValue()).isEqualTo(k);
          assertThat(vector(item.get("embedding"))).as("line %d input %d", i, k)
              .containsExactly(VllmSimulator.expectedEmbedding(ids, DIM));
        }
        assertThat(item0IsBase64(body)).isEqualTo(i % 10 == 9);
        assertThat(body.at("/usage/prompt_tokens").intValue()).isEqualTo(tokens);
        continue;
      }
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

  private static boolean item0IsBase64(JsonNode body) {
    return body.at("/data/0/embedding").isTextual();
  }

  /** An embedding as floats, or decoded from OpenAI's base64 (little-endian float32). */
  private static float[] vector(JsonNode embedding) {
    if (embedding.isTextual()) {
      java.nio.ByteBuffer b = java.nio.ByteBuffer.wrap(java.util.Base64.getDecoder().decode(
          embedding.textValue())).order(java.nio.ByteOrder.LITTLE_ENDIAN);
      float[] v = new float[b.remaining() / 4];
      for (int k = 0; k < v.length; k++) {
        v[k] = b.getFloat();
      }
      return v;
    }
    float[] v = new float[embedding.size()];
    for (int k = 0; k < v.length; k++) {
      v[k] = embedding.get(k).floatValue();
    }
    return v;
  }
}
