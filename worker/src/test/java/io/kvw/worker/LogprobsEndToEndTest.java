package io.kvw.worker;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvw.testkit.sim.SimCalls;
import io.kvw.testkit.sim.SimLogprobs;
import io.kvw.testkit.sim.SimTokenizer;
import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.backend.VllmBackendFactory;
import io.kvw.worker.backend.tokenizer.TokenDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Logprobs, matched stops and the prompt checks through the whole pipeline: a real KRaft
 * broker, the worker, and the simulator over loopback. Expected values are computed from what
 * the simulator recorded the model was given ({@link SimCalls}) and its logprob function.
 */
class LogprobsEndToEndTest {
  private final ObjectMapper json = new ObjectMapper();
  private VllmSimulator vllm;

  @AfterEach
  void stop() {
    if (vllm != null) {
      vllm.close();
    }
  }

  @Test
  void logprobsStopsAndOverLongPromptsEndToEnd() throws Exception {
    PipelineHarness h = PipelineHarness.create("logprobs", 1);
    vllm = VllmSimulator.builder().maxContextLength(64).build().start();
    String prompt = "one two three four five";
    h.produce(List.of(
        h.record("lp", PipelineHarness.request("lp", prompt,
            "\"params\":{\"max_tokens\":4,\"logprobs\":2,\"prompt_logprobs\":1}")),
        h.record("st", PipelineHarness.request("st", prompt,
            "\"params\":{\"stop\":[\" three\"]}")),
        h.record("long", PipelineHarness.request("long", "many words ".repeat(40), ""))));
    Map<String, JsonNode> byId = new HashMap<>();
    // every call the simulator saw is checked: no warm-up calls among them
    try (Worker worker = Worker.start(h.config(vllm.target(),
        Map.of("worker.startup-warmup-calls", "0")),
        new VllmBackendFactory());
        PipelineHarness.Reader reader = h.reader()) {
      // the error result and its DLQ copy are two topics: wait for both
      reader.readUntil(() -> reader.count(h.results) >= 3 && reader.count(h.dlq) >= 1,
          Duration.ofSeconds(60));
      for (ConsumerRecord<byte[], byte[]> r : reader.on(h.results)) {
        JsonNode n = json.readTree(new String(r.value(), StandardCharsets.UTF_8));
        byId.put(n.get("id").asText(), n);
      }
      assertThat(reader.count(h.dlq)).isEqualTo(1);
    }

    // logprobs: exactly the values the simulator produced for the tokens the model was given
    SimCalls.Call call = vllm.calls().forRequest("lp#").get(0);
    int[] in = call.inputIds();
    JsonNode lp = byId.get("lp");
    assertThat(lp.get("usage").get("prompt_tokens").asInt()).isEqualTo(in.length);
    JsonNode content = lp.get("outputs").get(0).get("logprobs").get("content");
    assertThat(content).hasSize(4);
    int vocab = vllm.tokenizer().vocabSize();
    try (TokenDecoder tokens = TokenDecoder.load(SimTokenizer.extract())) {
      StringBuilder text = new StringBuilder();
      for (int i = 0; i < 4; i++) {
        JsonNode t = content.get(i);
        int id = in[i]; // the simulator echoes the prompt's tokens
        assertThat(t.get("logprob").floatValue()).isEqualTo(SimLogprobs.value(id, i, 0));
        assertThat(t.get("token").asText()).isEqualTo(tokens.tokenText(id));
        JsonNode top = t.get("top_logprobs");
        assertThat(top).hasSize(2);
        for (int r = 0; r < 2; r++) {
          assertThat(top.get(r).get("logprob").floatValue())
              .isEqualTo(SimLogprobs.value(id, i, r));
          assertThat(top.get(r).get("token").asText())
              .isEqualTo(tokens.tokenText(SimLogprobs.alternative(id, r, vocab)));
        }
        text.append(t.get("token").asText());
      }
      assertThat(lp.get("text").asText()).isEqualTo(text.toString());
    }
    JsonNode promptLogprobs = lp.get("prompt_logprobs");
    assertThat(promptLogprobs).hasSize(in.length);
    assertThat(promptLogprobs.get(0).isNull()).isTrue();
    for (int i = 1; i < in.length; i++) {
      assertThat(promptLogprobs.get(i).get("logprob").floatValue())
          .isEqualTo(SimLogprobs.value(in[i], i, 0));
    }
    assertThat(lp.get("outputs").get(0).get("matched_stop").isNull()).isTrue();

    // a stop string: reported, and the text ends before it, as vLLM's server would write it
    JsonNode st = byId.get("st").get("outputs").get(0);
    assertThat(st.get("matched_stop").asText()).isEqualTo(" three");
    assertThat(st.get("finish_reason").asText()).isEqualTo("stop");
    assertThat(st.get("text").asText()).isEqualTo("one two");
    assertThat(st.has("logprobs")).isFalse();

    // too long for the model's context: refused at admission, vLLM never called
    JsonNode tooLong = byId.get("long");
    assertThat(tooLong.get("error").get("type").asText()).isEqualTo("invalid_request");
    assertThat(tooLong.get("error").get("message").asText())
        .contains("maximum context length is 64 tokens");
    assertThat(vllm.calls().forRequest("long#")).isEmpty();
    assertThat(vllm.calls().all()).hasSize(2);
  }
}
