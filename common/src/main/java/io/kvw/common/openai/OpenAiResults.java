package io.kvw.common.openai;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvw.common.Embedding;
import io.kvw.common.ErrorType;
import io.kvw.common.InferenceResult;
import io.kvw.common.MatchedStop;
import io.kvw.common.Output;
import io.kvw.common.TokenLogprob;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Writes the result of a request that came in OpenAI's shape as an OpenAI Batch output line:
 * {@code {"id": "batch_req_...", "custom_id", "response": {"status_code", "request_id",
 * "body"}, "error"}}, the body a {@code chat.completion}, a {@code text_completion} or an
 * embeddings {@code list}. An error the API would answer with an HTTP status (a bad request,
 * an unknown model, a failed backend) is a response with that status and OpenAI's error object
 * as body; one without an HTTP equivalent ({@code expired}, {@code delivery_limit}) is the
 * line's {@code error} with {@code response} null, as OpenAI writes expired batch requests.
 *
 * <p>Ids are derived from the request id and its record, so a record written twice (a
 * redelivery) gets the same ids. Thread-safe.
 */
public final class OpenAiResults {
  private static final Pattern FIELD_FIRST = Pattern.compile(
      "^([a-z][a-z0-9_]*(?:[.\\[][a-z0-9_.\\[\\]]*)?):? (?:must|is|has|needs|only|cannot"
          + "|differs|applies)\\b");

  private final ObjectMapper mapper = new ObjectMapper();
  private final Clock clock;

  public OpenAiResults(Clock clock) {
    this.clock = clock;
  }

  public OpenAiResults() {
    this(Clock.systemUTC());
  }

  public byte[] encode(InferenceResult r, OpenAiCall call) {
    String hash = hash(r);
    ObjectNode line = mapper.createObjectNode();
    line.put("id", "batch_req_" + hash);
    line.put("custom_id", call.customId());
    if (r.isError() && !hasHttpStatus(r.error().type())) {
      line.putNull("response");
      ObjectNode error = line.putObject("error");
      error.put("code", r.error().type() == ErrorType.EXPIRED ? "batch_expired"
          : r.error().type().wireName());
      error.put("message", r.error().message());
      return bytes(line);
    }
    ObjectNode response = line.putObject("response");
    response.put("status_code", r.isError() ? status(r.error().type()) : 200);
    response.put("request_id", "req_" + hash);
    if (r.isError()) {
      response.set("body", errorBody(r));
    } else if (call.endpoint() == OpenAiEndpoint.EMBEDDINGS || r.isEmbedding()) {
      response.set("body", embeddings(r, call, hash));
    } else if (call.endpoint() == OpenAiEndpoint.COMPLETIONS) {
      response.set("body", completion(r, call, hash));
    } else {
      response.set("body", chatCompletion(r, call, hash));
    }
    line.putNull("error");
    return bytes(line);
  }

  private ObjectNode chatCompletion(InferenceResult r, OpenAiCall call, String hash) {
    ObjectNode body = head("chatcmpl-" + hash, "chat.completion", r);
    ArrayNode choices = body.putArray("choices");
    for (Output o : r.outputs()) {
      ObjectNode choice = choices.addObject();
      choice.put("index", o.index());
      ObjectNode message = choice.putObject("message");
      message.put("role", "assistant");
      message.put("content", o.text());
      message.putNull("refusal");
      if (call.logprobs() && o.logprobs() != null) {
        ObjectNode logprobs = choice.putObject("logprobs");
        ArrayNode content = logprobs.putArray("content");
        o.logprobs().forEach(t -> content.add(chatLogprob(t, true)));
        logprobs.putNull("refusal");
      } else {
        choice.putNull("logprobs");
      }
      choice.put("finish_reason", o.finishReason());
      stopReason(choice, o.matchedStop());
    }
    tail(body, r);
    return body;
  }

  private ObjectNode completion(InferenceResult r, OpenAiCall call, String hash) {
    ObjectNode body = head("cmpl-" + hash, "text_completion", r);
    ArrayNode choices = body.putArray("choices");
    for (Output o : r.outputs()) {
      ObjectNode choice = choices.addObject();
      choice.put("index", o.index());
      choice.put("text", o.text());
      if (call.logprobs() && o.logprobs() != null) {
        choice.set("logprobs", completionLogprobs(o.logprobs()));
      } else {
        choice.putNull("logprobs");
      }
      choice.put("finish_reason", o.finishReason());
      stopReason(choice, o.matchedStop());
    }
    tail(body, r);
    return body;
  }

  /** The completions shape: parallel lists, the alternatives as token-to-logprob maps. */
  private ObjectNode completionLogprobs(List<TokenLogprob> tokens) {
    ObjectNode lp = mapper.createObjectNode();
    ArrayNode offsets = lp.putArray("text_offset");
    ArrayNode logprobs = lp.putArray("token_logprobs");
    ArrayNode texts = lp.putArray("tokens");
    ArrayNode tops = lp.putArray("top_logprobs");
    int offset = 0;
    for (TokenLogprob t : tokens) {
      offsets.add(offset);
      offset += t.token().length();
      logprobs.add(t.logprob());
      texts.add(t.token());
      ObjectNode top = tops.addObject();
      top.put(t.token(), t.logprob());
      for (TokenLogprob alt : t.topLogprobs()) {
        top.put(alt.token(), alt.logprob());
      }
    }
    return lp;
  }

  private ObjectNode chatLogprob(TokenLogprob t, boolean withAlternatives) {
    ObjectNode o = mapper.createObjectNode();
    o.put("token", t.token());
    o.put("logprob", t.logprob());
    ArrayNode bytes = o.putArray("bytes");
    for (byte b : t.bytes()) {
      bytes.add(b & 0xff);
    }
    if (withAlternatives) {
      ArrayNode top = o.putArray("top_logprobs");
      t.topLogprobs().forEach(alt -> top.add(chatLogprob(alt, false)));
    }
    return o;
  }

  private ObjectNode embeddings(InferenceResult r, OpenAiCall call, String hash) {
    ObjectNode body = mapper.createObjectNode();
    body.put("id", "embd-" + hash);
    body.put("object", "list");
    body.put("created", clock.instant().getEpochSecond());
    body.put("model", r.model());
    ArrayNode data = body.putArray("data");
    int promptTokens = 0;
    for (Embedding e : r.embeddings()) {
      ObjectNode item = data.addObject();
      item.put("object", "embedding");
      item.put("index", e.index());
      if (call.base64()) {
        item.put("embedding", base64(e.vector()));
      } else {
        ArrayNode values = item.putArray("embedding");
        for (float f : e.vector()) {
          values.add(f);
        }
      }
      promptTokens += e.promptTokens();
    }
    ObjectNode usage = body.putObject("usage");
    int tokens = r.usage() != null ? r.usage().promptTokens() : promptTokens;
    usage.put("prompt_tokens", tokens);
    usage.put("total_tokens", tokens);
    return body;
  }

  /** OpenAI's base64 encoding: the vector's float32 values, little-endian. */
  static String base64(float[] vector) {
    ByteBuffer buf = ByteBuffer.allocate(vector.length * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (float f : vector) {
      buf.putFloat(f);
    }
    return Base64.getEncoder().encodeToString(buf.array());
  }

  private ObjectNode head(String id, String object, InferenceResult r) {
    ObjectNode body = mapper.createObjectNode();
    body.put("id", id);
    body.put("object", object);
    body.put("created", clock.instant().getEpochSecond());
    body.put("model", r.model());
    return body;
  }

  private void tail(ObjectNode body, InferenceResult r) {
    body.put("system_fingerprint", fingerprint(r.model()));
    if (r.promptLogprobs() != null) {
      ArrayNode prompt = body.putArray("prompt_logprobs"); // vLLM's extension
      r.promptLogprobs().forEach(t -> {
        if (t == null) {
          prompt.addNull();
        } else {
          prompt.add(chatLogprob(t, true));
        }
      });
    }
    ObjectNode usage = body.putObject("usage");
    int prompt = r.usage() == null ? 0 : r.usage().promptTokens();
    int completion = r.usage() == null ? 0 : r.usage().completionTokens();
    usage.put("prompt_tokens", prompt);
    usage.put("completion_tokens", completion);
    usage.put("total_tokens", prompt + completion);
    usage.putObject("prompt_tokens_details").put("cached_tokens",
        r.usage() == null ? 0 : r.usage().cachedTokens());
  }

  /** vLLM's {@code stop_reason}: the stop string or token id that ended the sample. */
  private static void stopReason(ObjectNode choice, MatchedStop stop) {
    if (stop == null) {
      choice.putNull("stop_reason");
    } else if (stop.text() != null) {
      choice.put("stop_reason", stop.text());
    } else {
      choice.put("stop_reason", stop.tokenId());
    }
  }

  private ObjectNode errorBody(InferenceResult r) {
    ObjectNode body = mapper.createObjectNode();
    ObjectNode error = body.putObject("error");
    error.put("message", r.error().message());
    error.put("type", r.error().type() == ErrorType.RETRIES_EXHAUSTED ? "server_error"
        : "invalid_request_error");
    String param = param(r.error().message());
    if (param == null) {
      error.putNull("param");
    } else {
      error.put("param", param);
    }
    error.put("code", r.error().type() == ErrorType.UNKNOWN_MODEL ? "model_not_found"
        : r.error().type().wireName());
    return body;
  }

  /** The field an error message names first ("temperature must be..."), or null. */
  static String param(String message) {
    Matcher m = FIELD_FIRST.matcher(message);
    return m.lookingAt() ? m.group(1) : null;
  }

  private static boolean hasHttpStatus(ErrorType type) {
    return type != ErrorType.EXPIRED && type != ErrorType.DELIVERY_LIMIT;
  }

  private static int status(ErrorType type) {
    return switch (type) {
      case UNKNOWN_MODEL -> 404;
      case RETRIES_EXHAUSTED -> 500;
      default -> 400;
    };
  }

  /** Identifies the model the answer came from, as OpenAI's fingerprint does its backend. */
  private static String fingerprint(String model) {
    return "fp_kvw_" + sha256Hex(model == null ? "" : model).substring(0, 10);
  }

  private static String hash(InferenceResult r) {
    String source = r.source() == null ? "" : r.source().defaultRequestId();
    return sha256Hex(r.id() + "\n" + source).substring(0, 24);
  }

  private static String sha256Hex(String s) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(s.getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private byte[] bytes(ObjectNode line) {
    try {
      return mapper.writeValueAsBytes(line);
    } catch (JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }
}
