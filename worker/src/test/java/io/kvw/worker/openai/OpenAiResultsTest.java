package io.kvw.worker.openai;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvw.common.Embedding;
import io.kvw.common.ErrorInfo;
import io.kvw.common.ErrorType;
import io.kvw.common.InferenceResult;
import io.kvw.common.MatchedStop;
import io.kvw.common.Output;
import io.kvw.common.RecordSource;
import io.kvw.common.Timing;
import io.kvw.common.TokenLogprob;
import io.kvw.common.Usage;
import io.kvw.common.openai.OpenAiCall;
import io.kvw.common.openai.OpenAiEndpoint;
import io.kvw.common.openai.OpenAiResults;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Results of OpenAI-shaped requests, written as OpenAI Batch output lines and checked against
 * OpenAI's published schemas (chat.completion, text_completion, the embeddings list, the error
 * object, the Batch output line).
 */
class OpenAiResultsTest {
  private static final Instant NOW = Instant.parse("2026-11-30T12:00:00Z");
  private final OpenAiResults writer = new OpenAiResults(Clock.fixed(NOW, ZoneOffset.UTC));
  private static final RecordSource SOURCE = new RecordSource("requests", 0, 7);
  private static final String CHAT = OpenAiEndpoint.CHAT_COMPLETIONS.path();
  private static final String COMPLETIONS = OpenAiEndpoint.COMPLETIONS.path();
  private static final String EMBEDDINGS = OpenAiEndpoint.EMBEDDINGS.path();

  private static List<TokenLogprob> logprobs() {
    return List.of(new TokenLogprob("Bon", -0.1f, List.of(new TokenLogprob("Bon", -0.1f, null),
        new TokenLogprob("Sal", -2.5f, null))), new TokenLogprob("jour", -0.2f,
        List.of(new TokenLogprob("jour", -0.2f, null))));
  }

  private static InferenceResult twoSamples() {
    return InferenceResult.success("c-1", "sim-model", List.of(
        new Output(0, "Bonjour", "stop", MatchedStop.string("\n"), logprobs()),
        new Output(1, "Salut", "length", null, logprobs())), new Usage(12, 7, 4),
        new Timing(1, 2, 3, 4), 1, null, SOURCE);
  }

  private String write(InferenceResult r, OpenAiCall call) {
    return new String(writer.encode(r, call), StandardCharsets.UTF_8);
  }

  @Test
  void aChatResultIsAChatCompletionInABatchOutputLine() {
    String out = write(twoSamples(), new OpenAiCall(OpenAiEndpoint.CHAT_COMPLETIONS, "c-1",
        true, false));
    JsonNode line = OpenAiSchemas.assertValidLine(out, CHAT);
    assertThat(line.get("id").textValue()).startsWith("batch_req_");
    assertThat(line.get("custom_id").textValue()).isEqualTo("c-1");
    assertThat(line.get("error").isNull()).isTrue();
    assertThat(line.at("/response/status_code").intValue()).isEqualTo(200);
    JsonNode body = line.at("/response/body");
    assertThat(body.get("object").textValue()).isEqualTo("chat.completion");
    assertThat(body.get("id").textValue()).startsWith("chatcmpl-");
    assertThat(body.get("created").longValue()).isEqualTo(NOW.getEpochSecond());
    assertThat(body.get("model").textValue()).isEqualTo("sim-model");
    assertThat(body.get("system_fingerprint").textValue()).startsWith("fp_");
    assertThat(body.at("/choices/0/message/content").textValue()).isEqualTo("Bonjour");
    assertThat(body.at("/choices/0/message/role").textValue()).isEqualTo("assistant");
    assertThat(body.at("/choices/0/finish_reason").textValue()).isEqualTo("stop");
    assertThat(body.at("/choices/0/stop_reason").textValue()).isEqualTo("\n");
    assertThat(body.at("/choices/1/finish_reason").textValue()).isEqualTo("length");
    assertThat(body.at("/choices/0/logprobs/content/0/token").textValue()).isEqualTo("Bon");
    assertThat(body.at("/choices/0/logprobs/content/0/bytes").size()).isEqualTo(3);
    assertThat(body.at("/choices/0/logprobs/content/0/top_logprobs/1/token").textValue())
        .isEqualTo("Sal");
    assertThat(body.at("/usage/prompt_tokens").intValue()).isEqualTo(12);
    assertThat(body.at("/usage/completion_tokens").intValue()).isEqualTo(7);
    assertThat(body.at("/usage/total_tokens").intValue()).isEqualTo(19);
    assertThat(body.at("/usage/prompt_tokens_details/cached_tokens").intValue()).isEqualTo(4);
  }

  @Test
  void logprobsTheRequestDidNotAskForAreNull() {
    JsonNode line = OpenAiSchemas.assertValidLine(write(twoSamples(),
        new OpenAiCall(OpenAiEndpoint.CHAT_COMPLETIONS, "c-1", false, false)), CHAT);
    assertThat(line.at("/response/body/choices/0/logprobs").isNull()).isTrue();
  }

  @Test
  void theSameRecordWrittenTwiceGetsTheSameIds() {
    OpenAiCall call = new OpenAiCall(OpenAiEndpoint.CHAT_COMPLETIONS, "c-1", false, false);
    JsonNode a = OpenAiSchemas.assertValidLine(write(twoSamples(), call), CHAT);
    JsonNode b = OpenAiSchemas.assertValidLine(write(twoSamples(), call), CHAT);
    assertThat(a.get("id")).isEqualTo(b.get("id"));
    assertThat(a.at("/response/body/id")).isEqualTo(b.at("/response/body/id"));
  }

  @Test
  void aCompletionsResultIsATextCompletionWithCompletionsShapedLogprobs() {
    JsonNode line = OpenAiSchemas.assertValidLine(write(twoSamples(),
        new OpenAiCall(OpenAiEndpoint.COMPLETIONS, "c-1", true, false)), COMPLETIONS);
    JsonNode body = line.at("/response/body");
    assertThat(body.get("object").textValue()).isEqualTo("text_completion");
    assertThat(body.get("id").textValue()).startsWith("cmpl-");
    assertThat(body.at("/choices/0/text").textValue()).isEqualTo("Bonjour");
    JsonNode lp = body.at("/choices/0/logprobs");
    assertThat(lp.get("tokens")).extracting(JsonNode::textValue).containsExactly("Bon", "jour");
    assertThat(lp.get("text_offset")).extracting(JsonNode::intValue).containsExactly(0, 3);
    assertThat(lp.at("/token_logprobs/1").floatValue()).isEqualTo(-0.2f);
    assertThat(lp.at("/top_logprobs/0/Sal").floatValue()).isEqualTo(-2.5f);
  }

  @Test
  void anEmbeddingsResultIsAListOfEmbeddingsAsFloatsOrLittleEndianBase64() {
    float[] v = {0.5f, -1.25f, 3f};
    InferenceResult r = InferenceResult.embedded("e-1", "sim-embed", List.of(
        new Embedding(0, v, 3), new Embedding(1, new float[] {1f, 2f, 3f}, 2)),
        new Usage(5, 0, 0), new Timing(0, 0, 0, 0), 1, null, SOURCE);
    JsonNode floats = OpenAiSchemas.assertValidLine(write(r, new OpenAiCall(
        OpenAiEndpoint.EMBEDDINGS, "e-1", false, false)), EMBEDDINGS).at("/response/body");
    assertThat(floats.get("object").textValue()).isEqualTo("list");
    assertThat(floats.at("/data/0/object").textValue()).isEqualTo("embedding");
    assertThat(floats.at("/data/1/index").intValue()).isEqualTo(1);
    assertThat(floats.at("/data/0/embedding")).extracting(JsonNode::floatValue)
        .containsExactly(0.5f, -1.25f, 3f);
    assertThat(floats.at("/usage/prompt_tokens").intValue()).isEqualTo(5);
    assertThat(floats.at("/usage/total_tokens").intValue()).isEqualTo(5);

    JsonNode base64 = OpenAiSchemas.assertValidLine(write(r, new OpenAiCall(
        OpenAiEndpoint.EMBEDDINGS, "e-1", false, true)), EMBEDDINGS).at("/response/body");
    ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(
        base64.at("/data/0/embedding").textValue())).order(ByteOrder.LITTLE_ENDIAN);
    assertThat(new float[] {bytes.getFloat(), bytes.getFloat(), bytes.getFloat()})
        .containsExactly(v);
    assertThat(bytes.hasRemaining()).isFalse();
  }

  private JsonNode error(ErrorType type, String message) {
    return OpenAiSchemas.assertValidLine(write(InferenceResult.failure("c-9", "sim-model",
        new ErrorInfo(type, message), 1, null, SOURCE), new OpenAiCall(
        OpenAiEndpoint.CHAT_COMPLETIONS, "c-9", false, false)), CHAT);
  }

  @Test
  void aRefusedRequestIsAResponseWithStatus400AndOpenAisErrorObjectNamingTheField() {
    JsonNode line = error(ErrorType.INVALID_REQUEST, "temperature must be a number in [0, ∞), "
        + "got -1");
    assertThat(line.get("custom_id").textValue()).isEqualTo("c-9");
    assertThat(line.get("error").isNull()).isTrue();
    assertThat(line.at("/response/status_code").intValue()).isEqualTo(400);
    JsonNode e = line.at("/response/body/error");
    assertThat(e.get("type").textValue()).isEqualTo("invalid_request_error");
    assertThat(e.get("param").textValue()).isEqualTo("temperature");
    assertThat(e.get("code").textValue()).isEqualTo("invalid_request");
    assertThat(e.get("message").textValue()).startsWith("temperature must be");
  }

  @Test
  void otherErrorsGetTheirHttpStatusOrTheLinesErrorWhenTheyHaveNone() {
    assertThat(error(ErrorType.UNKNOWN_MODEL, "model 'x' is not served").at(
        "/response/status_code").intValue()).isEqualTo(404);
    assertThat(error(ErrorType.UNKNOWN_MODEL, "model 'x' is not served").at(
        "/response/body/error/code").textValue()).isEqualTo("model_not_found");
    JsonNode failed = error(ErrorType.RETRIES_EXHAUSTED, "gave up after 3 attempts");
    assertThat(failed.at("/response/status_code").intValue()).isEqualTo(500);
    assertThat(failed.at("/response/body/error/type").textValue()).isEqualTo("server_error");
    assertThat(failed.at("/response/body/error/param").isNull()).isTrue();
    assertThat(error(ErrorType.BACKEND_REJECTED, "INVALID_ARGUMENT: too long")
        .at("/response/status_code").intValue()).isEqualTo(400);

    JsonNode expired = error(ErrorType.EXPIRED, "deadline passed");
    assertThat(expired.get("response").isNull()).isTrue();
    assertThat(expired.at("/error/code").textValue()).isEqualTo("batch_expired");
    assertThat(expired.at("/error/message").textValue()).isEqualTo("deadline passed");
    assertThat(error(ErrorType.DELIVERY_LIMIT, "delivered 5 times").at("/error/code")
        .textValue()).isEqualTo("delivery_limit");
  }

  @Test
  void theSchemasRejectWhatOpenAiWouldNotWrite() throws Exception {
    JsonNode completion = new com.fasterxml.jackson.databind.ObjectMapper().readTree(write(
        twoSamples(), new OpenAiCall(OpenAiEndpoint.COMPLETIONS, "c-1", false, false)))
        .at("/response/body");
    assertThat(OpenAiSchemas.CHAT.validate(completion)).isNotEmpty();
    com.fasterxml.jackson.databind.node.ObjectNode noUsageTotal = completion.deepCopy();
    ((com.fasterxml.jackson.databind.node.ObjectNode) noUsageTotal.get("usage"))
        .remove("total_tokens");
    assertThat(OpenAiSchemas.COMPLETION.validate(noUsageTotal)).isNotEmpty();
  }
}
