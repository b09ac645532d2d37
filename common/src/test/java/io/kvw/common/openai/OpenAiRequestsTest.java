package io.kvw.common.openai;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvw.common.Decoded;
import io.kvw.common.EmbeddingInput;
import io.kvw.common.InferenceRequest;
import io.kvw.common.RecordHeaders;
import io.kvw.common.RecordSource;
import io.kvw.common.RequestCodec;
import io.kvw.common.RequestLimits;
import java.nio.charset.StandardCharsets;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * OpenAI records on the requests topic: every field the worker cannot honour refuses the
 * record as invalid_request naming that field (never dropped), and the refusal keeps the
 * line's custom_id so its error result is an OpenAI Batch output line.
 */
class OpenAiRequestsTest {
  private static final RequestCodec CODEC = new RequestCodec(RequestLimits.defaults());
  private static final String CHAT = "/v1/chat/completions";
  private static final String COMPLETIONS = "/v1/completions";
  private static final String EMBEDDINGS = "/v1/embeddings";
  private static final String MESSAGES = "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]";
  private static final String TOOLS = "\"tools\":[{\"type\":\"function\",\"function\":"
      + "{\"name\":\"f\",\"parameters\":{\"type\":\"object\"}}}]";

  private static Decoded decode(String record, RecordHeaders headers) {
    return CODEC.decode(record.getBytes(StandardCharsets.UTF_8), headers,
        new RecordSource("requests", 2, 40), 1_000);
  }

  private static String line(String url, String body) {
    return "{\"custom_id\":\"c-1\",\"method\":\"POST\",\"url\":\"" + url + "\",\"body\":{"
        + body + "}}";
  }

  private static String base(String url) {
    return switch (url) {
      case CHAT -> MESSAGES;
      case COMPLETIONS -> "\"prompt\":\"Hi\"";
      default -> "\"input\":\"Hi\"";
    };
  }

  static Stream<Arguments> refused() {
    return Stream.of(
        // chat: OpenAI fields the worker cannot meet
        refused(CHAT, "\"audio\":{\"format\":\"wav\",\"voice\":\"alloy\"}", "audio"),
        refused(CHAT, "\"modalities\":[\"text\",\"audio\"]", "modalities"),
        refused(CHAT, "\"prediction\":{\"type\":\"content\",\"content\":\"x\"}", "prediction"),
        refused(CHAT, "\"web_search_options\":{}", "web_search_options"),
        refused(CHAT, "\"functions\":[{\"name\":\"f\"}]", "functions"),
        refused(CHAT, "\"function_call\":\"auto\"", "function_call"),
        refused(CHAT, "\"verbosity\":\"low\"", "verbosity"),
        refused(CHAT, "\"store\":true", "store"),
        refused(CHAT, "\"service_tier\":\"flex\"", "service_tier"),
        refused(CHAT, "\"logprobs\":2", "logprobs"),
        refused(CHAT, "\"top_logprobs\":2", "top_logprobs"),
        refused(CHAT, "\"logprobs\":true,\"top_logprobs\":21", "top_logprobs"),
        refused(CHAT, "\"max_completion_tokens\":0", "max_completion_tokens"),
        refused(CHAT, TOOLS, "tool_choice"),
        refused(CHAT, TOOLS + ",\"tool_choice\":\"auto\"", "tool_choice"),
        refused(CHAT, TOOLS + ",\"tool_choice\":\"required\"", "tool_choice"),
        refused(CHAT, TOOLS + ",\"tool_choice\":{\"type\":\"function\",\"function\":"
            + "{\"name\":\"f\"}}", "tool_choice"),
        refused(CHAT, "\"stream_options\":{\"include_usage\":true}", "stream_options"),
        refused(CHAT, "\"stream\":true,\"stream_options\":{\"continuous_usage_stats\":true}",
            "stream_options.continuous_usage_stats"),
        refused(CHAT, "\"n\":2,\"best_of\":3", "best_of"),
        refused(CHAT, "\"response_format\":{\"type\":\"structural_tag\"}",
            "response_format.type"),
        refused(CHAT, "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
            + "{\"name\":\"x\"}}", "response_format.json_schema.schema"),
        refused(CHAT, "\"response_format\":{\"type\":\"json_object\"},\"guided_regex\":\"a\"",
            "guided_regex"),
        refused(CHAT, "\"structured_outputs\":{\"structural_tag\":\"{}\"}",
            "structured_outputs.structural_tag"),
        refused(CHAT, "\"temperature\":-1", "temperature"),
        refused(CHAT, "\"request_id\":\"r\"", "request_id"),
        refused(CHAT, "\"something_new\":1", "something_new"),
        // chat: vLLM's extras the worker cannot meet
        refused(CHAT, "\"echo\":true", "echo"),
        refused(CHAT, "\"use_beam_search\":true", "use_beam_search"),
        refused(CHAT, "\"length_penalty\":2", "length_penalty"),
        refused(CHAT, "\"spaces_between_special_tokens\":false",
            "spaces_between_special_tokens"),
        refused(CHAT, "\"priority\":1", "priority"),
        refused(CHAT, "\"return_tokens_as_token_ids\":true", "return_tokens_as_token_ids"),
        refused(CHAT, "\"return_token_ids\":true", "return_token_ids"),
        refused(CHAT, "\"add_generation_prompt\":false", "add_generation_prompt"),
        refused(CHAT, "\"continue_final_message\":true", "continue_final_message"),
        refused(CHAT, "\"add_special_tokens\":true", "add_special_tokens"),
        refused(CHAT, "\"include_reasoning\":false", "include_reasoning"),
        refused(CHAT, "\"chat_template\":\"{{ messages }}\"", "chat_template"),
        refused(CHAT, "\"mm_processor_kwargs\":{}", "mm_processor_kwargs"),
        refused(CHAT, "\"guided_decoding_backend\":\"xgrammar\"", "guided_decoding_backend"),
        refused(CHAT, "\"guided_whitespace_pattern\":\" \"", "guided_whitespace_pattern"),
        refused(CHAT, "\"logits_processors\":[\"x\"]", "logits_processors"),
        refused(CHAT, "\"bad_words\":[\"x\"]", "bad_words"),
        refused(CHAT, "\"cache_salt\":\"s\"", "cache_salt"),
        refused(CHAT, "\"kv_transfer_params\":{}", "kv_transfer_params"),
        refused(CHAT, "\"vllm_xargs\":{}", "vllm_xargs"),
        refused(CHAT, "\"allowed_token_ids\":[1]", "allowed_token_ids"),
        // completions
        refused(COMPLETIONS, "\"suffix\":\"x\"", "suffix"),
        refused(COMPLETIONS, "\"echo\":true", "echo"),
        refused(COMPLETIONS, "\"best_of\":2", "best_of"),
        refused(COMPLETIONS, "\"prompt_embeds\":\"AAAA\"", "prompt_embeds"),
        refused(COMPLETIONS, "\"allowed_token_ids\":[1]", "allowed_token_ids"),
        refused(COMPLETIONS, "\"add_special_tokens\":false", "add_special_tokens"),
        refused(COMPLETIONS, "\"logprobs\":21", "logprobs"),
        refused(COMPLETIONS, "\"messages\":[]", "messages"),
        refused(COMPLETIONS, "\"top_logprobs\":1", "top_logprobs"),
        // embeddings
        refused(EMBEDDINGS, "\"encoding_format\":\"int8\"", "encoding_format"),
        refused(EMBEDDINGS, "\"dimensions\":0", "dimensions"),
        refused(EMBEDDINGS, "\"truncate_prompt_tokens\":5", "truncate_prompt_tokens"),
        refused(EMBEDDINGS, "\"add_special_tokens\":false", "add_special_tokens"),
        refused(EMBEDDINGS, "\"priority\":2", "priority"),
        refused(EMBEDDINGS, "\"normalize\":false", "normalize"));
  }

  private static Arguments refused(String url, String field, String name) {
    return Arguments.of(url, field, name);
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("refused")
  void aFieldTheWorkerCannotHonourIsRefusedByName(String url, String field, String name) {
    Decoded d = decode(line(url, base(url) + "," + field), RecordHeaders.NONE);
    assertThat(d).isInstanceOf(Decoded.Rejected.class);
    Decoded.Rejected r = (Decoded.Rejected) d;
    assertThat(r.message()).startsWith(name);
    assertThat(OpenAiResults.param(r.message())).isEqualTo(name);
    assertThat(r.id()).isEqualTo("c-1");
    assertThat(r.openAi().customId()).isEqualTo("c-1");
    assertThat(r.openAi().endpoint().path()).isEqualTo(url);
  }

  static Stream<Arguments> brokenLines() {
    return Stream.of(
        Arguments.of("{\"custom_id\":\"c-1\",\"method\":\"GET\",\"url\":\"" + CHAT
            + "\",\"body\":{" + MESSAGES + "}}", "method"),
        Arguments.of("{\"custom_id\":\"c-1\",\"url\":\"/v1/responses\",\"body\":{}}", "url"),
        Arguments.of("{\"custom_id\":\"c-1\",\"url\":\"" + CHAT + "\",\"body\":[]}", "body"),
        Arguments.of("{\"custom_id\":\"c-1\",\"url\":\"" + CHAT + "\",\"body\":{" + MESSAGES
            + "},\"priority\":1}", "priority"));
  }

  @ParameterizedTest(name = "{1}")
  @MethodSource("brokenLines")
  void aBrokenBatchLineIsRefusedWithItsCustomId(String record, String name) {
    Decoded.Rejected r = (Decoded.Rejected) decode(record, RecordHeaders.NONE);
    assertThat(r.message()).startsWith(name);
    assertThat(r.id()).isEqualTo("c-1");
    assertThat(r.openAi().customId()).isEqualTo("c-1");
  }

  @Test
  void aBatchLineWithoutCustomIdIsRefusedUnderTheRecordsDefaultId() {
    Decoded.Rejected r = (Decoded.Rejected) decode("{\"url\":\"" + CHAT + "\",\"body\":{"
        + MESSAGES + "}}", RecordHeaders.NONE);
    assertThat(r.message()).startsWith("custom_id");
    assertThat(r.openAi().customId()).isEqualTo("requests-2-40");
  }

  @Test
  void anUnknownApiHeaderIsRefusedInOurOwnShape() {
    Decoded.Rejected r = (Decoded.Rejected) decode("{" + MESSAGES + "}",
        name -> name.equals("kvw.api") ? "/v1/responses" : null);
    assertThat(r.message()).contains("kvw.api");
    assertThat(r.openAi()).isNull();
  }

  @Test
  void ourOwnRequestIsReadAsBeforeAndAnswersInOurShape() {
    Decoded.Accepted a = (Decoded.Accepted) decode("{\"id\":\"x\",\"prompt\":\"Hi\"}",
        RecordHeaders.NONE);
    assertThat(a.request().openAi()).isNull();
  }

  @Test
  void aChatLineMapsMessagesStreamMetadataAndModel() {
    InferenceRequest r = ((Decoded.Accepted) decode(line(CHAT, MESSAGES
        + ",\"model\":\"m\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
        + "\"metadata\":{\"team\":\"a\"},\"user\":\"u\",\"logprobs\":true,"
        + "\"top_logprobs\":2"), RecordHeaders.NONE)).request();
    assertThat(r.id()).isEqualTo("c-1");
    assertThat(r.model()).isEqualTo("m");
    assertThat(r.stream()).isTrue();
    assertThat(r.metadata().get("team").textValue()).isEqualTo("a");
    assertThat(r.messages()).hasSize(1);
    assertThat(r.params().logprobs()).isEqualTo(2);
    assertThat(r.openAi()).isEqualTo(new OpenAiCall(OpenAiEndpoint.CHAT_COMPLETIONS, "c-1",
        true, false));
  }

  @Test
  void aCompletionsPromptListOfOneIsThatPrompt() {
    InferenceRequest r = ((Decoded.Accepted) decode(line(COMPLETIONS,
        "\"prompt\":[\"Once\"],\"logprobs\":1"), RecordHeaders.NONE)).request();
    assertThat(r.prompt()).isEqualTo("Once");
    assertThat(r.params().maxTokens()).isEqualTo(16);
    assertThat(r.openAi().logprobs()).isTrue();
  }

  @Test
  void embeddingsInputsInEveryShapeMapOntoTheEmbeddingRequest() {
    InferenceRequest one = ((Decoded.Accepted) decode(line(EMBEDDINGS,
        "\"model\":\"e\",\"input\":\"a\",\"dimensions\":8,\"user\":\"u\""),
        RecordHeaders.NONE)).request();
    assertThat(one.isEmbedding()).isTrue();
    assertThat(one.model()).isEqualTo("e");
    assertThat(one.embedding().dimensions()).isEqualTo(8);
    assertThat(one.embedding().inputs()).extracting(EmbeddingInput::text).containsExactly("a");
    assertThat(one.openAi().base64()).isFalse();

    InferenceRequest many = ((Decoded.Accepted) decode(line(EMBEDDINGS,
        "\"input\":[\"a\",\"b\"],\"encoding_format\":\"base64\""),
        RecordHeaders.NONE)).request();
    assertThat(many.embedding().inputs()).extracting(EmbeddingInput::text)
        .containsExactly("a", "b");
    assertThat(many.openAi().base64()).isTrue();

    InferenceRequest lists = ((Decoded.Accepted) decode(line(EMBEDDINGS,
        "\"input\":[[1,2],[3]]"), RecordHeaders.NONE)).request();
    assertThat(lists.embedding().inputs()).hasSize(2);
    assertThat(lists.embedding().inputs().get(1).tokenIds()).containsExactly(3);

    InferenceRequest tokens = ((Decoded.Accepted) decode(line(EMBEDDINGS,
        "\"input\":[5,6,7]"), RecordHeaders.NONE)).request();
    assertThat(tokens.embedding().inputs()).hasSize(1);
    assertThat(tokens.embedding().inputs().get(0).tokenIds()).containsExactly(5, 6, 7);
  }

  @Test
  void emptyAndMixedEmbeddingInputsAreRefusedNamingTheInput() {
    assertThat(((Decoded.Rejected) decode(line(EMBEDDINGS, "\"input\":[]"),
        RecordHeaders.NONE)).message()).startsWith("input");
    assertThat(((Decoded.Rejected) decode(line(EMBEDDINGS, "\"input\":[1,\"a\"]"),
        RecordHeaders.NONE)).message()).startsWith("input");
    assertThat(((Decoded.Rejected) decode(line(EMBEDDINGS, "\"input\":[\"a\",[1]]"),
        RecordHeaders.NONE)).message()).startsWith("input[1]");
    assertThat(((Decoded.Rejected) decode(line(EMBEDDINGS, "\"dimensions\":2"),
        RecordHeaders.NONE)).message()).startsWith("input is required");
  }
}
