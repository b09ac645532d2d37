package io.kvw.common;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.List;
import org.junit.jupiter.api.Test;

class ResultCodecTest {
  private final ResultCodec codec = new ResultCodec();
  private final ObjectMapper json = new ObjectMapper();
  private final RecordSource source = new RecordSource("inference.requests", 0, 1234);

  @Test
  void aResultHasTheContractsFieldsAndTextIsTheFirstOutput() throws Exception {
    JsonNode meta = json.readTree("{\"tenant\":\"acme\"}");
    InferenceResult r = InferenceResult.success("req-42", "qwen3-0.6b",
        List.of(new Output(0, "Bonjour, le monde !", "stop"), new Output(1, "Salut", "length")),
        new Usage(12, 7, 0), new Timing(2, 38, 121, 125), 1, meta, source);
    JsonNode n = json.readTree(codec.encode(r));
    assertThat(n.get("id").asText()).isEqualTo("req-42");
    assertThat(n.get("model").asText()).isEqualTo("qwen3-0.6b");
    assertThat(n.get("text").asText()).isEqualTo("Bonjour, le monde !");
    assertThat(n.get("outputs").get(1).get("finish_reason").asText()).isEqualTo("length");
    assertThat(n.get("usage").get("prompt_tokens").asInt()).isEqualTo(12);
    assertThat(n.get("usage").get("completion_tokens").asInt()).isEqualTo(7);
    assertThat(n.get("usage").get("cached_tokens").asInt()).isZero();
    assertThat(n.get("timing").get("ttft_ms").asInt()).isEqualTo(38);
    assertThat(n.get("timing").get("total_ms").asInt()).isEqualTo(125);
    assertThat(n.get("attempts").asInt()).isEqualTo(1);
    assertThat(n.get("metadata")).isEqualTo(meta);
    assertThat(n.get("source").get("offset").asLong()).isEqualTo(1234);
    assertThat(n.has("error")).isFalse();
    assertThat(codec.decode(codec.encode(r))).isEqualTo(r);
  }

  @Test
  void logprobsAndMatchedStopsAreWrittenLikeOpenAisAndReadBack() throws Exception {
    TokenLogprob alt = new TokenLogprob(" mond", -1.25f, null);
    TokenLogprob chosen = new TokenLogprob(" monde", -0.125f, List.of(
        new TokenLogprob(" monde", -0.125f, null), alt));
    InferenceResult r = InferenceResult.success("req-1", "m", List.of(
        new Output(0, "le monde", "stop", MatchedStop.string("!"), List.of(chosen)),
        new Output(1, "le", "stop", MatchedStop.token(7), null),
        new Output(2, "le mo", "length")),
        new Usage(3, 4, 0), new Timing(1, 2, 3, 4), 1, null, source,
        java.util.Arrays.asList(null, new TokenLogprob("é", -2.5f, List.of())));
    JsonNode n = json.readTree(codec.encode(r));
    JsonNode first = n.get("outputs").get(0);
    assertThat(first.get("matched_stop").asText()).isEqualTo("!");
    JsonNode content = first.get("logprobs").get("content").get(0);
    assertThat(content.get("token").asText()).isEqualTo(" monde");
    assertThat(content.get("logprob").floatValue()).isEqualTo(-0.125f);
    assertThat(content.get("bytes").toString()).isEqualTo("[32,109,111,110,100,101]");
    assertThat(content.get("top_logprobs").get(1).get("token").asText()).isEqualTo(" mond");
    assertThat(content.get("top_logprobs").get(1).has("top_logprobs")).isFalse();
    assertThat(n.get("outputs").get(1).get("matched_stop").intValue()).isEqualTo(7);
    assertThat(n.get("outputs").get(1).has("logprobs")).isFalse();
    assertThat(n.get("outputs").get(2).get("matched_stop").isNull()).isTrue();
    assertThat(n.get("prompt_logprobs").get(0).isNull()).isTrue();
    assertThat(n.get("prompt_logprobs").get(1).get("bytes").toString())
        .isEqualTo("[195,169]");
    InferenceResult back = codec.decode(codec.encode(r));
    assertThat(back.outputs()).isEqualTo(r.outputs());
    assertThat(back.promptLogprobs()).isEqualTo(r.promptLogprobs());
  }

  @Test
  void anErrorResultHasTheErrorAndNoOutputs() throws Exception {
    InferenceResult r = InferenceResult.failure("req-7", null,
        new ErrorInfo(ErrorType.RETRIES_EXHAUSTED, "gave up"), 3, null, source);
    JsonNode n = json.readTree(codec.encode(r));
    assertThat(n.get("error").get("type").asText()).isEqualTo("retries_exhausted");
    assertThat(n.get("error").get("message").asText()).isEqualTo("gave up");
    assertThat(n.has("outputs")).isFalse();
    assertThat(n.has("text")).isFalse();
    assertThat(n.has("model")).isFalse();
    assertThat(n.get("attempts").asInt()).isEqualTo(3);
    assertThat(codec.decode(codec.encode(r))).isEqualTo(r);
  }

  @Test
  void aPartialOutputCarriesTheTextSoFar() throws Exception {
    JsonNode n = json.readTree(codec.encodePartial("s-1", 1, "Hello wor", 3));
    assertThat(n.get("id").asText()).isEqualTo("s-1");
    assertThat(n.get("index").asInt()).isEqualTo(1);
    assertThat(n.get("text").asText()).isEqualTo("Hello wor");
    assertThat(n.get("completion_tokens").asInt()).isEqualTo(3);
  }
}
