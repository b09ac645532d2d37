package io.kvw.client;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;

/**
 * The id a request or result is correlated by: {@code custom_id} when present (an OpenAI Batch
 * line, and the worker's echo of it), else {@code id}. Reads only the top-level fields.
 */
public final class CorrelationId {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private CorrelationId() {}

  /** The correlation id of a JSON object, or null when it is not one or carries neither. */
  public static String of(byte[] json) {
    if (json == null || json.length == 0) {
      return null;
    }
    try {
      return of(MAPPER.readTree(json));
    } catch (IOException e) {
      return null;
    }
  }

  /** The correlation id of a parsed JSON object, or null. */
  public static String of(JsonNode node) {
    if (node == null || !node.isObject()) {
      return null;
    }
    JsonNode custom = node.get("custom_id");
    if (custom != null && custom.isTextual() && !custom.textValue().isEmpty()) {
      return custom.textValue();
    }
    JsonNode id = node.get("id");
    return id != null && id.isTextual() && !id.textValue().isEmpty() ? id.textValue() : null;
  }
}
