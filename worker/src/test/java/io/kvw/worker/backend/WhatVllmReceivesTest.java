package io.kvw.worker.backend;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvw.common.Decoded;
import io.kvw.common.InferenceRequest;
import io.kvw.common.RecordSource;
import io.kvw.common.RequestCodec;
import io.kvw.common.RequestLimits;
import io.kvw.proto.vllm.SamplingParams;
import io.kvw.testkit.sim.SimCalls;
import io.kvw.testkit.sim.SimTokenizer;
import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.config.WorkerConfig;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Same prompt, same model input as vLLM's own OpenAI server: over loopback to the simulator,
 * asserted from the simulator's record of what each Generate call carried (the token ids the
 * model sees and the sampling parameters).
 */
class WhatVllmReceivesTest {
  private final RequestCodec codec = new RequestCodec(RequestLimits.defaults());
  private VllmSimulator sim;
  private InferenceBackend backend;

  private void connect(VllmSimulator.Builder b, Map<String, String> extra) {
    sim = b.build().start();
    Map<String, String> config = new HashMap<>(extra);
    config.put("vllm.target", sim.target());
    backend = new VllmBackendFactory().connect(WorkerConfig.of(config), Duration.ofSeconds(10));
  }

  @AfterEach
  void close() {
    if (backend != null) {
      backend.close();
    }
    if (sim != null) {
      sim.close();
    }
  }

  private InferenceRequest request(String json) {
    Decoded d = codec.decode(json.getBytes(StandardCharsets.UTF_8),
        new RecordSource("t", 0, 0), 0);
    assertThat(d).isInstanceOf(Decoded.Accepted.class);
    return ((Decoded.Accepted) d).request();
  }

  /** Prepares the request as admission does, runs it, and returns what the model was given. */
  private SimCalls.Call send(String json) throws Exception {
    InferenceRequest r = request(json);
    Prompt prompt = backend.prompts().prepare(r);
    backend.generate(new GenerationCall(r.id() + "#1", r, Duration.ofSeconds(10), null, prompt))
        .get(10, TimeUnit.SECONDS);
    List<SimCalls.Call> calls = sim.calls().forRequest(r.id() + "#");
    assertThat(calls).hasSize(1);
    return calls.get(0);
  }

  private static long count(int[] ids, int id) {
    return Arrays.stream(ids).filter(i -> i == id).count();
  }

  @Test
  void withABosAddingTokenizerChatAndPlainPromptsEachStartWithExactlyOneBos() throws Exception {
    connect(VllmSimulator.builder().tokenizer(SimTokenizer.Variant.LLAMA3), Map.of());
    SimTokenizer t = sim.tokenizer();
    int bos = t.encodeSpecial("<|begin_of_text|>");

    SimCalls.Call chat = send("{\"id\":\"chat\",\"messages\":[{\"role\":\"system\","
        + "\"content\":\"Be brief.\"},{\"role\":\"user\",\"content\":\"Hello there\"}]}");
    assertThat(chat.tokenized()).isTrue();
    assertThat(chat.inputIds()[0]).isEqualTo(bos);
    assertThat(count(chat.inputIds(), bos)).as("BOS in the chat's ids").isEqualTo(1);
    // the template wrote the BOS; the ids are the rendered text without added specials
    assertThat(chat.originalText()).startsWith("<|begin_of_text|><|start_header_id|>system");
    assertThat(chat.inputIds()).isEqualTo(t.encode(chat.originalText(), false));

    SimCalls.Call plain = send("{\"id\":\"plain\",\"prompt\":\"Hello there\"}");
    assertThat(plain.inputIds()[0]).isEqualTo(bos);
    assertThat(count(plain.inputIds(), bos)).as("BOS in the prompt's ids").isEqualTo(1);
    // the tokenizer's post-processor added it, as vLLM's completions path does
    assertThat(Arrays.copyOfRange(plain.inputIds(), 1, plain.inputIds().length))
        .isEqualTo(t.encode("Hello there", false));
    assertThat(plain.originalText()).isEqualTo("Hello there");
  }

  @Test
  void aChatMlModelGetsNoBosAtAll() throws Exception {
    connect(VllmSimulator.builder(), Map.of());
    SimCalls.Call plain = send("{\"id\":\"p\",\"prompt\":\"Hello there\"}");
    assertThat(plain.inputIds()).isEqualTo(sim.tokenizer().encode("Hello there", false));
  }

  @Test
  void unsetSamplingParametersArriveWithTheModelsDefaultsAndExplicitOnesUnchanged()
      throws Exception {
    connect(VllmSimulator.builder().samplingDefaultsJson(
        "{\"temperature\":0.6,\"top_k\":20,\"top_p\":0.95,\"min_p\":0.05,"
            + "\"repetition_penalty\":1.1}"), Map.of());
    SamplingParams unset = send("{\"id\":\"u\",\"prompt\":\"hi\"}").params();
    assertThat(unset.hasTemperature()).isTrue();
    assertThat(unset.getTemperature()).isEqualTo(0.6f);
    assertThat(unset.getTopK()).isEqualTo(20);
    assertThat(unset.getTopP()).isEqualTo(0.95f);
    assertThat(unset.getMinP()).isEqualTo(0.05f);
    assertThat(unset.getRepetitionPenalty()).isEqualTo(1.1f);

    SamplingParams explicit = send("{\"id\":\"e\",\"prompt\":\"hi\",\"params\":{"
        + "\"temperature\":0,\"top_k\":5,\"top_p\":0.5,\"min_p\":0,\"repetition_penalty\":1}}")
        .params();
    assertThat(explicit.hasTemperature()).as("temperature 0 is sent, not left unset").isTrue();
    assertThat(explicit.getTemperature()).isZero();
    assertThat(explicit.getTopK()).isEqualTo(5);
    assertThat(explicit.getTopP()).isEqualTo(0.5f);
    assertThat(explicit.getMinP()).isZero();
    assertThat(explicit.getRepetitionPenalty()).isEqualTo(1f);
  }

  @Test
  void samplingDefaultsNoneSendsNone() throws Exception {
    connect(VllmSimulator.builder(), Map.of("vllm.sampling-defaults", "none"));
    SamplingParams p = send("{\"id\":\"n\",\"prompt\":\"hi\"}").params();
    assertThat(p.hasTemperature()).isFalse();
    assertThat(List.of(p.getTopP(), p.getMinP(), p.getRepetitionPenalty())).containsOnly(0f);
    assertThat(p.getTopK()).isZero();
  }
}
