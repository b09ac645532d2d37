package io.kvw.worker.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvw.client.CorrelationId;
import java.io.IOException;

/**
 * What the tools show of one result record, read from its JSON: our result or error result
 * (CONTRACT.md), or an OpenAI Batch output record ({@code custom_id}, {@code response.body},
 * {@code error}).
 *
 * @param id the correlation id ({@code custom_id}, else {@code id}); null when unreadable
 * @param errorType the error type, or null for an answer
 * @param promptTokens prompt tokens, 0 when not reported
 * @param completionTokens completion tokens, 0 when not reported
 * @param totalMs the worker's total time, -1 when not reported
 * @param text the first output's text, or null
 */
record ResultView(String id, String errorType, long promptTokens, long completionTokens,
    long totalMs, String text) {
  private static final ObjectMapper MAPPER = new ObjectMapper();
  private static final int TEXT_CHARS = 60;

  static ResultView parse(byte[] json) {
    try {
      return of(MAPPER.readTree(json));
    } catch (IOException e) {
      return new ResultView(null, "unreadable_result", 0, 0, -1, null);
    }
  }

  static ResultView parse(String json) {
    try {
      return of(MAPPER.readTree(json));
    } catch (IOException e) {
      return new ResultView(null, "unreadable_result", 0, 0, -1, null);
    }
  }

  private static ResultView of(JsonNode n) {
    if (n == null || !n.isObject()) {
      return new ResultView(null, "unreadable_result", 0, 0, -1, null);
    }
    JsonNode body = n.path("response").path("body");
    String errorType = null;
    JsonNode error = n.get("error");
    if (error != null && error.isObject()) {
      errorType = error.hasNonNull("type") ? error.get("type").asText()
          : error.path("code").asText("error");
    } else if (n.path("response").path("status_code").asInt(200) >= 400) {
      // OpenAI's error object: our error type is its code (model_not_found: unknown_model)
      JsonNode code = body.path("error").get("code");
      errorType = code != null && code.isTextual() ? code.textValue()
          : "http_" + n.path("response").path("status_code").asInt();
    }
    JsonNode usage = n.has("usage") ? n.get("usage") : body.path("usage");
    String text = n.hasNonNull("text") ? n.get("text").asText() : null;
    if (text == null) {
      JsonNode choice = body.path("choices").path(0);
      JsonNode t = choice.path("message").has("content") ? choice.path("message").get("content")
          : choice.get("text");
      text = t == null || t.isNull() ? null : t.asText();
    }
    return new ResultView(CorrelationId.of(n), errorType,
        usage.path("prompt_tokens").asLong(0), usage.path("completion_tokens").asLong(0),
        n.path("timing").path("total_ms").asLong(-1), text);
  }

  boolean isError() {
    return errorType != null;
  }

  /** One readable line; the text (private by default) only when asked for. */
  String line(boolean showText) {
    StringBuilder b = new StringBuilder();
    b.append(id == null ? "?" : id).append("  ").append(isError() ? "error:" + errorType : "ok");
    if (!isError()) {
      b.append("  in=").append(promptTokens).append(" out=").append(completionTokens);
    }
    if (totalMs >= 0) {
      b.append("  ").append(totalMs).append(" ms");
    }
    if (showText && text != null) {
      String oneLine = text.replace("\r", "\\r").replace("\n", "\\n");
      b.append("  \"").append(oneLine.length() <= TEXT_CHARS ? oneLine
          : oneLine.substring(0, TEXT_CHARS) + "…").append('"');
    }
    return b.toString();
  }
}
