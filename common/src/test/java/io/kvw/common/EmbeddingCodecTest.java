package io.kvw.common;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Embedding requests and results in the worker's own record format. */
class EmbeddingCodecTest {
  private static final RecordSource SOURCE = new RecordSource("inference.requests", 0, 9);
  private static final long TS = 1_700_000_000_000L;
  private final RequestCodec codec = new RequestCodec(RequestLimits.defaults());
  private final ObjectMapper json = new ObjectMapper();

  private Decoded decode(String body) {
    return codec.decode(body.getBytes(StandardCharsets.UTF_8), SOURCE, TS);
  }

  private EmbeddingRequest embedding(String body) {
    Decoded d = decode(body);
    assertThat(d).as("decoded %s", body).isInstanceOf(Decoded.Accepted.class);
    InferenceRequest r = ((Decoded.Accepted) d).request();
    assertThat(r.isEmbedding()).isTrue();
    assertThat(r.prompt()).isNull();
    assertThat(r.messages()).isNull();
    return r.embedding();
  }

  @Test
  void aStringIsOneTextInput() {
    EmbeddingRequest e = embedding("{\"input\": \"hello world\"}");
    assertThat(e.inputs()).hasSize(1);
    assertThat(e.inputs().get(0).text()).isEqualTo("hello world");
    assertThat(e.dimensions()).isNull();
  }

  @Test
  void aListOfStringsIsOneInputEachInOrder() {
    EmbeddingRequest e = embedding("{\"input\": [\"a\", \"b\", \"c\"], \"dimensions\": 8}");
    assertThat(e.inputs()).extracting(EmbeddingInput::text).containsExactly("a", "b", "c");
    assertThat(e.dimensions()).isEqualTo(8);
  }

  @Test
  void aListOfTokenIdsIsOneTokenInput() {
    EmbeddingRequest e = embedding("{\"input\": [101, 7592, 102]}");
    assertThat(e.inputs()).hasSize(1);
    assertThat(e.inputs().get(0).text()).isNull();
    assertThat(e.inputs().get(0).tokenIds()).containsExactly(101, 7592, 102);
  }

  @Test
  void aListOfListsOfTokenIdsIsOneTokenInputEach() {
    EmbeddingRequest e = embedding("{\"input\": [[1, 2], [3], [4, 5, 6]]}");
    assertThat(e.inputs()).hasSize(3);
    assertThat(e.inputs().get(2).tokenIds()).containsExactly(4, 5, 6);
  }

  @Test
  void idModelMetadataAndDeadlineWorkAsForGeneration() {
    InferenceRequest r = ((Decoded.Accepted) decode("""
        {"id": "emb-1", "model": "bge", "input": "x", "ttl_ms": 5000,
         "metadata": {"tenant": "acme"}}""")).request();
    assertThat(r.id()).isEqualTo("emb-1");
    assertThat(r.model()).isEqualTo("bge");
    assertThat(r.deadline()).isEqualTo(Instant.ofEpochMilli(TS + 5000));
    assertThat(r.metadata().get("tenant").asText()).isEqualTo("acme");
  }

  static Stream<Arguments> refusals() {
    return Stream.of(
        Arguments.of("{\"input\": \"\"}", "input must not be an empty string"),
        Arguments.of("{\"input\": []}", "input must not be an empty list"),
        Arguments.of("{\"input\": [\"a\", \"\"]}", "input[1] must not be an empty string"),
        Arguments.of("{\"input\": [[1], []]}", "input[1] must not be an empty list"),
        Arguments.of("{\"input\": [\"a\", 1]}", "input[1] must be a string"),
        Arguments.of("{\"input\": [1, \"a\"]}", "input[1] must be a token id"),
        Arguments.of("{\"input\": [1, -2]}", "input[1] must be a token id"),
        Arguments.of("{\"input\": [[1, 2.5]]}", "input[0][1] must be a token id"),
        Arguments.of("{\"input\": [true]}", "input[0] must be a string, a token id"),
        Arguments.of("{\"input\": {\"a\": 1}}", "input must be a string, a list of strings"),
        Arguments.of("{\"input\": 5}", "input must be a string, a list of strings"),
        Arguments.of("{\"input\": \"a\", \"dimensions\": 0}", "dimensions must be a positive"),
        Arguments.of("{\"input\": \"a\", \"dimensions\": \"8\"}",
            "dimensions must be a positive"),
        Arguments.of("{\"input\": \"a\", \"prompt\": \"b\"}", "prompt does not apply"),
        Arguments.of("{\"input\": \"a\", \"messages\": [{\"role\": \"user\", \"content\": "
            + "\"b\"}]}", "messages does not apply"),
        Arguments.of("{\"input\": \"a\", \"params\": {}}", "params does not apply"),
        Arguments.of("{\"input\": \"a\", \"stream\": false}", "stream does not apply"),
        Arguments.of("{\"input\": \"a\", \"model\": \"\"}", "model must not be empty"),
        Arguments.of("{\"input\": \"a\", \"metadata\": 3}", "metadata must be a JSON object"),
        Arguments.of("{\"input\": \"a\", \"ttl_ms\": -1}", "ttl_ms must be a positive"));
  }

  @ParameterizedTest
  @MethodSource("refusals")
  void badInputIsRefusedNamingTheField(String body, String message) {
    Decoded d = decode(body);
    assertThat(d).isInstanceOf(Decoded.Rejected.class);
    assertThat(((Decoded.Rejected) d).message()).contains(message);
  }

  @Test
  void inputsAreBoundedByTheLimit() {
    RequestCodec small = new RequestCodec(new RequestLimits(1 << 20, 32, 1000, 8, 4, 4, 100, 3));
    String body = "{\"input\": [\"a\", \"b\", \"c\", \"d\"]}";
    Decoded d = small.decode(body.getBytes(StandardCharsets.UTF_8), SOURCE, TS);
    assertThat(((Decoded.Rejected) d).message())
        .isEqualTo("input has 4 entries, over the limit of 3");
    assertThat(small.decode("{\"input\": [[1], [2], [3]]}".getBytes(StandardCharsets.UTF_8),
        SOURCE, TS)).isInstanceOf(Decoded.Accepted.class);
    assertThat(RequestLimits.defaults().maxEmbeddingInputs()).isEqualTo(2048);
  }

  @Test
  void anEmbeddingResultIsWrittenAndReadBack() throws Exception {
    ResultCodec results = new ResultCodec();
    InferenceResult r = InferenceResult.embedded("emb-1", "bge",
        List.of(new Embedding(0, new float[] {0.6f, -0.8f}, 3),
            new Embedding(1, new float[] {1f, 0f}, 2)),
        new Usage(5, 0, 0), new Timing(1, -1, 4, 6), 1, json.readTree("{\"t\": 1}"), SOURCE);
    JsonNode n = json.readTree(results.encode(r));
    assertThat(n.get("embeddings").get(0).get("index").asInt()).isZero();
    assertThat(n.get("embeddings").get(0).get("embedding").get(1).floatValue()).isEqualTo(-0.8f);
    assertThat(n.get("embeddings").get(1).get("index").asInt()).isEqualTo(1);
    assertThat(n.get("usage").get("prompt_tokens").asInt()).isEqualTo(5);
    assertThat(n.get("usage").get("completion_tokens").asInt()).isZero();
    assertThat(n.has("outputs")).isFalse();
    assertThat(n.has("text")).isFalse();
    InferenceResult back = results.decode(results.encode(r));
    assertThat(back.isEmbedding()).isTrue();
    assertThat(back.embeddings()).hasSize(2);
    assertThat(back.embeddings().get(0).vector()).containsExactly(0.6f, -0.8f);
    assertThat(back.embeddings().get(1).index()).isEqualTo(1);
    assertThat(back.usage()).isEqualTo(r.usage());
    assertThat(back.timing()).isEqualTo(r.timing());
    assertThat(back.metadata()).isEqualTo(r.metadata());
  }
}
