package io.kvw.worker.openai;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvw.common.Decoded;
import io.kvw.common.InferenceRequest;
import io.kvw.common.RecordHeaders;
import io.kvw.common.RecordSource;
import io.kvw.common.RequestCodec;
import io.kvw.common.RequestLimits;
import io.kvw.proto.vllm.SamplingParams;
import io.kvw.testkit.sim.SimCalls;
import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.backend.GenerationCall;
import io.kvw.worker.backend.InferenceBackend;
import io.kvw.worker.backend.Prompt;
import io.kvw.worker.backend.VllmBackendFactory;
import io.kvw.worker.config.WorkerConfig;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every OpenAI body field the worker maps, checked where it lands: in the Generate call the
 * simulator received over loopback (its sampling parameters and the model's input).
 */
class OpenAiWhatVllmReceivesTest {
  private static final RequestCodec CODEC = new RequestCodec(RequestLimits.defaults());
  private static final AtomicInteger IDS = new AtomicInteger();
  private static final String CHAT = "\"model\":\"sim-model\",\"messages\":[{\"role\":\"user\","
      + "\"content\":\"Hello there\"}]";
  private static final String COMPLETION = "\"model\":\"sim-model\",\"prompt\":\"Hello there\"";
  private static VllmSimulator sim;
  private static InferenceBackend backend;

  @BeforeAll
  static void connect() {
    sim = VllmSimulator.builder().modelName("sim-model").build().start();
    backend = new VllmBackendFactory().connect(WorkerConfig.of(Map.of("vllm.target",
        sim.target(), "vllm.sampling-defaults", "none")), Duration.ofSeconds(10));
  }

  @AfterAll
  static void close() {
    backend.close();
    sim.close();
  }

  private static InferenceRequest decode(String record, RecordHeaders headers) {
    Decoded d = CODEC.decode(record.getBytes(StandardCharsets.UTF_8), headers,
        new RecordSource("t", 0, 0), 0);
    assertThat(d).as(d.toString()).isInstanceOf(Decoded.Accepted.class);
    return ((Decoded.Accepted) d).request();
  }

  private static SimCalls.Call run(InferenceRequest r) throws Exception {
    Prompt prompt = backend.prompts().prepare(r);
    backend.generate(new GenerationCall(r.id() + "#1", r, Duration.ofSeconds(10), null, prompt))
        .get(10, TimeUnit.SECONDS);
    List<SimCalls.Call> calls = sim.calls().forRequest(r.id() + "#");
    assertThat(calls).hasSize(1);
    return calls.get(0);
  }

  /** Sends a Batch line whose body is {@code base} plus {@code extra}; what vLLM received. */
  private static SimCalls.Call batchLine(String url, String base, String extra)
      throws Exception {
    String id = "map-" + IDS.incrementAndGet();
    String line = "{\"custom_id\":\"" + id + "\",\"method\":\"POST\",\"url\":\"" + url
        + "\",\"body\":{" + base + (extra.isEmpty() ? "" : "," + extra) + "}}";
    InferenceRequest r = decode(line, RecordHeaders.NONE);
    assertThat(r.id()).isEqualTo(id);
    return run(r);
  }

  static Stream<Arguments> chatFields() {
    return Stream.of(
        field("\"max_tokens\":7", p -> assertThat(p.getMaxTokens()).isEqualTo(7)),
        field("\"max_completion_tokens\":9", p -> assertThat(p.getMaxTokens()).isEqualTo(9)),
        field("\"max_tokens\":7,\"max_completion_tokens\":9",
            p -> assertThat(p.getMaxTokens()).isEqualTo(9)),
        field("\"temperature\":0.25", p -> assertThat(p.getTemperature()).isEqualTo(0.25f)),
        field("\"top_p\":0.5", p -> assertThat(p.getTopP()).isEqualTo(0.5f)),
        field("\"n\":2", p -> assertThat(p.getN()).isEqualTo(2)),
        field("\"stop\":\"END\"", p -> assertThat(p.getStopList()).containsExactly("END")),
        field("\"stop\":[\"a\",\"b\"]", p -> assertThat(p.getStopList()).containsExactly("a",
            "b")),
        field("\"seed\":42", p -> assertThat(p.getSeed()).isEqualTo(42)),
        field("\"presence_penalty\":0.5", p -> assertThat(p.getPresencePenalty())
            .isEqualTo(0.5f)),
        field("\"frequency_penalty\":-0.5", p -> assertThat(p.getFrequencyPenalty())
            .isEqualTo(-0.5f)),
        field("\"logprobs\":true", p -> {
          assertThat(p.hasLogprobs()).isTrue();
          assertThat(p.getLogprobs()).isZero();
        }),
        field("\"logprobs\":false", p -> assertThat(p.hasLogprobs()).isFalse()),
        field("\"logprobs\":true,\"top_logprobs\":3", p -> assertThat(p.getLogprobs())
            .isEqualTo(3)),
        field("\"response_format\":{\"type\":\"json_object\"}", p -> assertThat(
            p.getJsonObject()).isTrue()),
        field("\"response_format\":{\"type\":\"text\"}", p -> assertThat(
            p.getConstraintCase()).isEqualTo(SamplingParams.ConstraintCase.CONSTRAINT_NOT_SET)),
        field("\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"x\","
            + "\"schema\":{\"type\":\"object\"},\"strict\":true}}",
            p -> assertThat(p.getJsonSchema()).isEqualTo("{\"type\":\"object\"}")),
        field("\"logit_bias\":{\"5\":10}", p -> assertThat(p.getLogitBiasMap())
            .containsEntry(5, 10f)),
        field("\"top_k\":5", p -> assertThat(p.getTopK()).isEqualTo(5)),
        field("\"min_p\":0.1", p -> assertThat(p.getMinP()).isEqualTo(0.1f)),
        field("\"repetition_penalty\":1.2", p -> assertThat(p.getRepetitionPenalty())
            .isEqualTo(1.2f)),
        field("\"min_tokens\":2", p -> assertThat(p.getMinTokens()).isEqualTo(2)),
        field("\"stop_token_ids\":[7,8]", p -> assertThat(p.getStopTokenIdsList())
            .containsExactly(7, 8)),
        field("\"include_stop_str_in_output\":true", p -> assertThat(
            p.getIncludeStopStrInOutput()).isTrue()),
        field("\"skip_special_tokens\":false", p -> assertThat(p.getSkipSpecialTokens())
            .isFalse()),
        field("\"ignore_eos\":true", p -> assertThat(p.getIgnoreEos()).isTrue()),
        field("\"truncate_prompt_tokens\":3", p -> assertThat(p.getTruncatePromptTokens())
            .isEqualTo(3)),
        field("\"prompt_logprobs\":1", p -> assertThat(p.getPromptLogprobs()).isEqualTo(1)),
        field("\"guided_regex\":\"a+\"", p -> assertThat(p.getRegex()).isEqualTo("a+")),
        field("\"guided_choice\":[\"x\",\"y\"]", p -> assertThat(p.getChoice().getChoicesList())
            .containsExactly("x", "y")),
        field("\"guided_json\":{\"type\":\"string\"}", p -> assertThat(p.getJsonSchema())
            .isEqualTo("{\"type\":\"string\"}")),
        field("\"guided_grammar\":\"root ::= \\\"a\\\"\"", p -> assertThat(p.getGrammar())
            .isEqualTo("root ::= \"a\"")),
        field("\"structured_outputs\":{\"regex\":\"b+\"}", p -> assertThat(p.getRegex())
            .isEqualTo("b+")),
        field("\"structured_outputs\":{\"json_object\":true}", p -> assertThat(
            p.getJsonObject()).isTrue()),
        field("\"best_of\":1", p -> assertThat(p.getN()).isLessThanOrEqualTo(1)));
  }

  private static Arguments field(String json, Consumer<SamplingParams> check) {
    return Arguments.of(json, check);
  }

  @ParameterizedTest(name = "chat {0}")
  @MethodSource("chatFields")
  void aChatFieldReachesVllm(String json, Consumer<SamplingParams> check) throws Exception {
    check.accept(batchLine("/v1/chat/completions", CHAT, json).params());
  }

  @ParameterizedTest(name = "completions {0}")
  @MethodSource("chatFields")
  void theSameFieldOnCompletionsReachesVllm(String json, Consumer<SamplingParams> check)
      throws Exception {
    String completions = json.replace("\"max_completion_tokens\"", "\"max_tokens\"")
        .replace("\"logprobs\":true,\"top_logprobs\":3", "\"logprobs\":3")
        .replace("\"logprobs\":true", "\"logprobs\":0")
        .replace("\"logprobs\":false", "\"logprobs\":null");
    if (completions.contains("\"max_tokens\":7,\"max_tokens\":9")) {
      return; // chat only: the two names of one field
    }
    check.accept(batchLine("/v1/completions", COMPLETION, completions).params());
  }

  @Test
  void completionsWithoutMaxTokensGetSixteenAsOpenAiAndVllmDo() throws Exception {
    assertThat(batchLine("/v1/completions", COMPLETION, "").params().getMaxTokens())
        .isEqualTo(16);
    assertThat(batchLine("/v1/chat/completions", CHAT, "").params().hasMaxTokens()).isFalse();
  }

  @Test
  void bookkeepingFieldsChangeNothingThatReachesVllm() throws Exception {
    SimCalls.Call plain = batchLine("/v1/chat/completions", CHAT, "");
    SimCalls.Call kept = batchLine("/v1/chat/completions", CHAT, "\"user\":\"u-1\","
        + "\"metadata\":{\"team\":\"a\"},\"store\":false,\"parallel_tool_calls\":true,"
        + "\"service_tier\":\"auto\",\"safety_identifier\":\"s\",\"prompt_cache_key\":\"k\","
        + "\"echo\":false,\"add_generation_prompt\":true,\"priority\":0,"
        + "\"modalities\":[\"text\"],\"spaces_between_special_tokens\":true");
    assertThat(kept.params()).isEqualTo(plain.params());
    assertThat(kept.inputIds()).isEqualTo(plain.inputIds());
  }

  @Test
  void aChatBodyReachesTheModelAsOurOwnChatRequestDoes() throws Exception {
    String messages = "[{\"role\":\"system\",\"content\":\"Be brief.\"},{\"role\":\"user\","
        + "\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}]}]";
    String tools = "[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":"
        + "{\"type\":\"object\"}}}]";
    SimCalls.Call openAi = batchLine("/v1/chat/completions", "\"messages\":" + messages,
        "\"tools\":" + tools + ",\"tool_choice\":\"none\",\"reasoning_effort\":\"low\","
            + "\"documents\":[{\"title\":\"t\",\"text\":\"d\"}]");
    SimCalls.Call ours = run(decode("{\"id\":\"ours-chat\",\"messages\":" + messages
        + ",\"tools\":" + tools + ",\"documents\":[{\"title\":\"t\",\"text\":\"d\"}],"
        + "\"chat_template_kwargs\":{\"reasoning_effort\":\"low\"}}", RecordHeaders.NONE));
    assertThat(openAi.tokenized()).isTrue();
    assertThat(openAi.inputIds()).isEqualTo(ours.inputIds());
    assertThat(openAi.originalText()).isEqualTo(ours.originalText());
  }

  @Test
  void aBareBodyWithTheApiHeaderIsReadAsThatEndpoint() throws Exception {
    InferenceRequest r = decode("{\"model\":\"sim-model\",\"prompt\":\"Hello there\","
        + "\"request_id\":\"bare-1\",\"max_tokens\":5}",
        name -> name.equals("kvw.api") ? "/v1/completions" : null);
    assertThat(r.id()).isEqualTo("bare-1");
    assertThat(r.openAi().customId()).isEqualTo("bare-1");
    SimCalls.Call call = run(r);
    assertThat(call.originalText()).isEqualTo("Hello there");
    assertThat(call.params().getMaxTokens()).isEqualTo(5);
  }
}
