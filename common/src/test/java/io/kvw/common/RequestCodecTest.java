package io.kvw.common;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class RequestCodecTest {
  private static final RecordSource SOURCE = new RecordSource("inference.requests", 2, 77);
  private static final long TS = 1_700_000_000_000L;
  private final RequestCodec codec = new RequestCodec(RequestLimits.defaults());

  private Decoded decode(String json) {
    return codec.decode(json.getBytes(StandardCharsets.UTF_8), SOURCE, TS);
  }

  private InferenceRequest accepted(String json) {
    Decoded d = decode(json);
    assertThat(d).as("decoded %s", json).isInstanceOf(Decoded.Accepted.class);
    return ((Decoded.Accepted) d).request();
  }

  private Decoded.Rejected rejected(byte[] value) {
    Decoded d = codec.decode(value, SOURCE, TS);
    assertThat(d).isInstanceOf(Decoded.Rejected.class);
    return (Decoded.Rejected) d;
  }

  @Test
  void aFullRequestDecodesEveryField() {
    InferenceRequest r = accepted("""
        {"id":"req-42","model":"qwen3-0.6b","prompt":"Translate to French: Hello, world!",
         "params":{"max_tokens":64,"temperature":0.7,"top_p":0.95,"top_k":40,"min_p":0.05,
                   "stop":["\\n\\n"],"seed":7,"n":2,"presence_penalty":0.5,
                   "frequency_penalty":-0.5,"repetition_penalty":1.1,"ignore_eos":true,
                   "regex":"[a-z]+"},
         "ttl_ms":60000,"stream":true,"metadata":{"tenant":"acme"},"unknown":"ignored"}""");
    assertThat(r.id()).isEqualTo("req-42");
    assertThat(r.model()).isEqualTo("qwen3-0.6b");
    assertThat(r.prompt()).isEqualTo("Translate to French: Hello, world!");
    assertThat(r.messages()).isNull();
    SamplingParams p = r.params();
    assertThat(p.maxTokens()).isEqualTo(64);
    assertThat(p.temperature()).isEqualTo(0.7);
    assertThat(p.topP()).isEqualTo(0.95);
    assertThat(p.topK()).isEqualTo(40);
    assertThat(p.minP()).isEqualTo(0.05);
    assertThat(p.stop()).containsExactly("\n\n");
    assertThat(p.seed()).isEqualTo(7);
    assertThat(p.n()).isEqualTo(2);
    assertThat(p.presencePenalty()).isEqualTo(0.5);
    assertThat(p.frequencyPenalty()).isEqualTo(-0.5);
    assertThat(p.repetitionPenalty()).isEqualTo(1.1);
    assertThat(p.ignoreEos()).isTrue();
    assertThat(p.regex()).isEqualTo("[a-z]+");
    assertThat(r.deadline()).isEqualTo(Instant.ofEpochMilli(TS + 60000));
    assertThat(r.stream()).isTrue();
    assertThat(r.metadata().get("tenant").asText()).isEqualTo("acme");
  }

  @Test
  void theProtocolsOtherParamsAreDecoded() {
    SamplingParams p = accepted("""
        {"prompt":"a","params":{"logprobs":0,"prompt_logprobs":3,"stop_token_ids":[7,9],
         "min_tokens":2,"logit_bias":{"5":-100,"17":2.5},"include_stop_str_in_output":true,
         "truncate_prompt_tokens":-1,"skip_special_tokens":false,
         "structural_tag":{"type":"x"}}}""").params();
    assertThat(p.logprobs()).isZero();
    assertThat(p.promptLogprobs()).isEqualTo(3);
    assertThat(p.stopTokenIds()).containsExactly(7, 9);
    assertThat(p.minTokens()).isEqualTo(2);
    assertThat(p.logitBias()).containsEntry(5, -100.0).containsEntry(17, 2.5).hasSize(2);
    assertThat(p.includeStopStrInOutput()).isTrue();
    assertThat(p.truncatePromptTokens()).isEqualTo(-1);
    assertThat(p.skipsSpecialTokens()).isFalse();
    assertThat(p.structuralTag()).isEqualTo("{\"type\":\"x\"}");
    assertThat(accepted("{\"prompt\":\"a\",\"params\":{\"grammar\":\"root ::= x\"}}")
        .params().grammar()).isEqualTo("root ::= x");
    assertThat(accepted("{\"prompt\":\"a\",\"params\":{\"json_object\":true}}").params()
        .jsonObject()).isTrue();
    // json_object false asks for nothing, so it may stand beside another constraint
    SamplingParams both = accepted(
        "{\"prompt\":\"a\",\"params\":{\"json_object\":false,\"regex\":\"x\"}}").params();
    assertThat(both.jsonObject()).isNull();
    assertThat(both.regex()).isEqualTo("x");
    SamplingParams none = accepted("{\"prompt\":\"a\"}").params();
    assertThat(none.logprobs()).isNull();
    assertThat(none.skipsSpecialTokens()).isTrue();
    assertThat(none.stopTokenIds()).isEmpty();
  }

  @Test
  void aRequestWithoutIdIsNamedAfterItsRecord() {
    assertThat(accepted("{\"prompt\":\"hi\"}").id()).isEqualTo("inference.requests-2-77");
  }

  @Test
  void chatMessagesAreKeptInOrder() {
    InferenceRequest r = accepted("{\"messages\":[{\"role\":\"system\",\"content\":\"Be brief\"},"
        + "{\"role\":\"user\",\"content\":\"Hi\"}]}");
    assertThat(r.prompt()).isNull();
    assertThat(r.messages()).containsExactly(new ChatMessage("system", "Be brief"),
        new ChatMessage("user", "Hi"));
  }

  @Test
  void chatMessagesReachTheTemplateAsSentWithTheirOptions() {
    InferenceRequest r = accepted("{\"messages\":["
        + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"Hi\"}],\"name\":\"ann\"},"
        + "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"c1\","
        + "\"type\":\"function\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}],"
        + "\"reasoning\":\"hm\"},"
        + "{\"role\":\"tool\",\"tool_call_id\":\"c1\",\"content\":\"42\"}],"
        + "\"chat_template_kwargs\":{\"enable_thinking\":false},"
        + "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}],"
        + "\"documents\":[{\"title\":\"t\",\"text\":\"d\"}]}");
    assertThat(r.messages()).extracting(ChatMessage::role)
        .containsExactly("user", "assistant", "tool");
    assertThat(r.messages().get(0).message().get("content").get(0).get("text").textValue())
        .isEqualTo("Hi");
    assertThat(r.messages().get(0).message().get("name").textValue()).isEqualTo("ann");
    assertThat(r.messages().get(1).message().get("content").isNull()).isTrue();
    assertThat(r.messages().get(1).message().get("reasoning").textValue())
        .isEqualTo("hm");
    assertThat(r.chat().templateKwargs().get("enable_thinking").booleanValue()).isFalse();
    assertThat(r.chat().tools().get(0).get("function").get("name").textValue()).isEqualTo("f");
    assertThat(r.chat().documents().get(0).get("text").textValue()).isEqualTo("d");
    assertThat(accepted("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}").chat())
        .isEqualTo(ChatOptions.NONE);
  }

  @Test
  void theEarlierOfTtlAndDeadlineWins() {
    assertThat(accepted("{\"prompt\":\"a\",\"ttl_ms\":1000,\"deadline\":\"2100-01-01T00:00:00Z\"}")
        .deadline()).isEqualTo(Instant.ofEpochMilli(TS + 1000));
    assertThat(accepted("{\"prompt\":\"a\",\"ttl_ms\":999999999999,"
        + "\"deadline\":\"2000-01-01T00:00:00+02:00\"}").deadline())
        .isEqualTo(Instant.parse("1999-12-31T22:00:00Z"));
  }

  @Test
  void aJsonSchemaObjectIsPassedOnAsText() {
    InferenceRequest r = accepted("{\"prompt\":\"a\",\"params\":{\"json_schema\":"
        + "{\"type\":\"object\"}}}");
    assertThat(r.params().jsonSchema()).isEqualTo("{\"type\":\"object\"}");
    assertThat(accepted("{\"prompt\":\"a\",\"params\":{\"choice\":[\"yes\",\"no\"]}}")
        .params().choice()).containsExactly("yes", "no");
    assertThat(accepted("{\"prompt\":\"a\",\"params\":{\"stop\":\"END\"}}").params().stop())
        .containsExactly("END");
  }

  static Stream<Arguments> rejections() {
    return Stream.of(
        Arguments.of("{\"prompt\":\"a\"", "malformed JSON"),
        Arguments.of("{\"prompt\":\"a\"} trailing", "malformed JSON"),
        Arguments.of("[{\"prompt\":\"a\"}]", "must be a JSON object, got an array"),
        Arguments.of("\"a string\"", "must be a JSON object, got a string"),
        Arguments.of("null", "must be a JSON object, got null"),
        Arguments.of("{}", "prompt or messages is required"),
        Arguments.of("{\"prompt\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"b\"}]}",
            "not both"),
        Arguments.of("{\"prompt\":42}", "prompt must be a string, got a number"),
        Arguments.of("{\"prompt\":\"\"}", "prompt must not be empty"),
        Arguments.of("{\"messages\":[]}", "messages must not be empty"),
        Arguments.of("{\"messages\":\"hi\"}", "messages must be an array"),
        Arguments.of("{\"messages\":[{\"role\":\"king\",\"content\":\"b\"}]}",
            "messages[0].role"),
        Arguments.of("{\"messages\":[{\"role\":\"user\"}]}", "messages[0].content"),
        Arguments.of("{\"messages\":[{\"role\":7,\"content\":\"b\"}]}", "messages[0].role"),
        Arguments.of("{\"messages\":[{\"role\":\"user\",\"content\":5}]}",
            "messages[0].content must be a string or a list of parts, got a number"),
        Arguments.of("{\"messages\":[{\"role\":\"assistant\",\"content\":null}]}",
            "messages[0].content must be a string or a list of parts (it may be null only "
                + "next to tool_calls)"),
        Arguments.of("{\"messages\":[{\"role\":\"user\",\"content\":[]}]}",
            "messages[0].content must not be an empty list"),
        Arguments.of("{\"messages\":[{\"role\":\"user\",\"content\":[\"hi\"]}]}",
            "messages[0].content[0] must be an object with a type"),
        Arguments.of("{\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]}",
            "messages[0].content[0].text must be a string"),
        Arguments.of("{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":{}}]}",
            "messages[0].tool_calls must be a non-empty array of objects"),
        Arguments.of("{\"messages\":[{\"role\":\"assistant\",\"tool_calls\":[1]}]}",
            "messages[0].tool_calls[0] must be an object, got a number"),
        Arguments.of("{\"messages\":[{\"role\":\"tool\",\"content\":\"x\",\"tool_call_id\":1}]}",
            "messages[0].tool_call_id must be a string, got a number"),
        Arguments.of("{\"messages\":[{\"role\":\"user\",\"content\":\"x\",\"name\":[]}]}",
            "messages[0].name must be a string, got an array"),
        Arguments.of("{\"messages\":[{\"role\":\"assistant\",\"content\":\"x\","
            + "\"reasoning\":{}}]}", "messages[0].reasoning must be a string, got an object"),
        Arguments.of("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
            + "\"chat_template_kwargs\":[]}", "chat_template_kwargs must be a JSON object, got an array"),
        Arguments.of("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
            + "\"chat_template_kwargs\":{\"messages\":[]}}", "chat_template_kwargs.messages is set by"),
        Arguments.of("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"tools\":{}}",
            "tools must be an array of objects, got an object"),
        Arguments.of("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"documents\":[1]}",
            "documents[0] must be an object, got a number"),
        Arguments.of("{\"prompt\":\"a\",\"tools\":[]}", "apply to messages only"),
        Arguments.of("{\"id\":\"\",\"prompt\":\"a\"}", "id must be a string of 1 to 256"),
        Arguments.of("{\"id\":7,\"prompt\":\"a\"}", "id must be a string"),
        Arguments.of("{\"id\":\"" + "x".repeat(257) + "\",\"prompt\":\"a\"}", "id must be"),
        Arguments.of("{\"model\":\"\",\"prompt\":\"a\"}", "model must not be empty"),
        Arguments.of("{\"model\":1,\"prompt\":\"a\"}", "model must be a string"),
        Arguments.of("{\"prompt\":\"a\",\"params\":[]}", "params must be a JSON object"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"max_tokens\":\"64\"}}",
            "params.max_tokens must be a whole number"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"max_tokens\":1.5}}",
            "params.max_tokens must be a whole number"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"max_tokens\":0}}", "params.max_tokens"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"temperature\":-0.1}}",
            "params.temperature must be a number in [0, ∞)"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"top_p\":0}}", "params.top_p"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"top_p\":1.5}}",
            "params.top_p must be a number in (0, 1], got 1.5"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"top_k\":-2}}", "params.top_k"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"min_p\":2}}", "params.min_p"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"stop\":[1]}}", "params.stop must contain"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"stop\":[\"\"]}}", "params.stop"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"stop\":" + manyStops() + "}}",
            "params.stop has 17 entries"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"seed\":3000000000}}", "params.seed"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"n\":0}}", "params.n"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"n\":17}}", "params.n"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"presence_penalty\":3}}",
            "params.presence_penalty"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"frequency_penalty\":-3}}",
            "params.frequency_penalty"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"repetition_penalty\":0}}",
            "params.repetition_penalty"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"ignore_eos\":\"yes\"}}",
            "params.ignore_eos must be true or false"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"regex\":\"a\",\"choice\":[\"b\"]}}",
            "at most one of json_schema, regex, choice, grammar, json_object, structural_tag;"
                + " got regex, choice"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"grammar\":\"root ::= x\","
            + "\"json_object\":true}}", "got grammar, json_object"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"grammar\":\"\"}}",
            "params.grammar must not be empty"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"structural_tag\":7}}",
            "params.structural_tag must be a JSON object or a non-empty string"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"logprobs\":21}}",
            "params.logprobs must be a whole number from 0 to 20, got 21"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"logprobs\":-1}}", "params.logprobs"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"prompt_logprobs\":true}}",
            "params.prompt_logprobs"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"stop_token_ids\":[-1]}}",
            "params.stop_token_ids must hold token ids"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"stop_token_ids\":5}}",
            "params.stop_token_ids must be an array"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"min_tokens\":9,\"max_tokens\":8}}",
            "params.min_tokens (9) must not exceed max_tokens (8)"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"logit_bias\":{\"x\":1}}}",
            "params.logit_bias keys must be token ids"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"logit_bias\":{\"5\":101}}}",
            "params.logit_bias values must be numbers in [-100, 100], got 101"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"truncate_prompt_tokens\":0}}",
            "params.truncate_prompt_tokens must be -1"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"skip_special_tokens\":1}}",
            "params.skip_special_tokens must be true or false"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"choice\":[]}}", "params.choice"),
        Arguments.of("{\"prompt\":\"a\",\"params\":{\"json_schema\":5}}", "params.json_schema"),
        Arguments.of("{\"prompt\":\"a\",\"ttl_ms\":0}", "ttl_ms must be a positive"),
        Arguments.of("{\"prompt\":\"a\",\"ttl_ms\":\"10\"}", "ttl_ms must be a positive"),
        Arguments.of("{\"prompt\":\"a\",\"deadline\":\"tomorrow\"}", "deadline must be an RFC"),
        Arguments.of("{\"prompt\":\"a\",\"stream\":\"yes\"}", "stream must be true or false"),
        Arguments.of("{\"prompt\":\"a\",\"metadata\":[1]}", "metadata must be a JSON object"),
        Arguments.of("{\"prompt\":\"a\",\"prompt\":\"b\"}", "Duplicate field"));
  }

  private static String manyStops() {
    String[] s = new String[17];
    Arrays.fill(s, "\"x\"");
    return "[" + String.join(",", s) + "]";
  }

  @ParameterizedTest(name = "{1}")
  @MethodSource("rejections")
  void eachRuleHasItsOwnClearRejection(String json, String message) {
    Decoded d = decode(json);
    assertThat(d).isInstanceOf(Decoded.Rejected.class);
    assertThat(((Decoded.Rejected) d).message()).contains(message);
  }

  @Test
  void aRejectionKeepsAValidIdAndTheMetadataButNeverQuotesThePrompt() {
    Decoded.Rejected r = rejected(("{\"id\":\"mine\",\"prompt\":\"secret plans\","
        + "\"metadata\":{\"t\":1},\"params\":{\"top_p\":7}}").getBytes(StandardCharsets.UTF_8));
    assertThat(r.id()).isEqualTo("mine");
    assertThat(r.metadata().get("t").asInt()).isEqualTo(1);
    assertThat(r.message()).doesNotContain("secret");
    Decoded.Rejected typed = rejected("{\"prompt\":\"a\",\"params\":{\"max_tokens\":\"secret\"}}"
        .getBytes(StandardCharsets.UTF_8));
    assertThat(typed.message()).doesNotContain("secret").contains("got a string");
  }

  @Test
  void nullAndEmptyValuesAreRejected() {
    assertThat(rejected(null).message()).contains("no value");
    assertThat(rejected(new byte[0]).message()).contains("empty");
    assertThat(rejected("   ".getBytes(StandardCharsets.UTF_8)).message()).contains("blank");
    assertThat(rejected(null).id()).isEqualTo("inference.requests-2-77");
  }

  @Test
  void anOversizedRecordIsRejectedWithoutBeingParsed() {
    RequestCodec small = new RequestCodec(RequestLimits.defaults().withMaxRecordBytes(1024));
    byte[] big = new byte[4096];
    Arrays.fill(big, (byte) '['); // would also be far too deep, were it parsed
    Decoded d = small.decode(big, SOURCE, TS);
    assertThat(((Decoded.Rejected) d).message()).contains("4096 bytes, over the limit of 1024");
  }

  @Test
  void deepNestingAndHugeStringsHitTheParserLimits() {
    String deep = "{\"prompt\":\"a\",\"metadata\":" + "[".repeat(100) + "]".repeat(100) + "}";
    assertThat(rejected(deep.getBytes(StandardCharsets.UTF_8)).message())
        .contains("parser limit");
    RequestCodec small = new RequestCodec(new RequestLimits(1 << 20, 32, 1000, 8, 4, 4, 100));
    byte[] huge = ("{\"prompt\":\"" + "a".repeat(5000) + "\"}").getBytes(StandardCharsets.UTF_8);
    assertThat(((Decoded.Rejected) small.decode(huge, SOURCE, TS)).message())
        .contains("parser limit");
  }

  @ParameterizedTest
  @MethodSource("invalidUtf8")
  void invalidUtf8IsRejected(byte[] bad) {
    byte[] value = new byte[bad.length + 13];
    byte[] head = "{\"prompt\":\"".getBytes(StandardCharsets.UTF_8);
    System.arraycopy(head, 0, value, 0, head.length);
    System.arraycopy(bad, 0, value, head.length, bad.length);
    value[value.length - 2] = '"';
    value[value.length - 1] = '}';
    assertThat(rejected(value).message()).contains("not valid UTF-8");
  }

  static List<byte[]> invalidUtf8() {
    return List.of(
        new byte[] {(byte) 0xC3, (byte) 0x28},               // bad continuation
        new byte[] {(byte) 0xC0, (byte) 0xAF},               // overlong '/'
        new byte[] {(byte) 0xED, (byte) 0xA0, (byte) 0x80},  // UTF-16 surrogate
        new byte[] {(byte) 0xF8, (byte) 0x88, (byte) 0x80, (byte) 0x80, (byte) 0x80},
        new byte[] {(byte) 0xFF},
        new byte[] {(byte) 0xE2, (byte) 0x82});              // truncated
  }

  @Test
  void validMultibyteTextIsKept() {
    assertThat(accepted("{\"prompt\":\"naïve café 😀 日本語\"}").prompt())
        .isEqualTo("naïve café 😀 日本語");
  }
}
