package io.kvw.common;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * A result or an error result (CONTRACT.md, "Result"). An error result has {@code error} set
 * and {@code outputs}, {@code usage} and {@code timing} null.
 */
public record InferenceResult(
    String id,
    String model,
    List<Output> outputs,
    Usage usage,
    Timing timing,
    int attempts,
    JsonNode metadata,
    RecordSource source,
    ErrorInfo error) {

  public static InferenceResult success(String id, String model, List<Output> outputs,
      Usage usage, Timing timing, int attempts, JsonNode metadata, RecordSource source) {
    return new InferenceResult(id, model, List.copyOf(outputs), usage, timing, attempts,
        metadata, source, null);
  }

  public static InferenceResult failure(String id, String model, ErrorInfo error, int attempts,
      JsonNode metadata, RecordSource source) {
    return new InferenceResult(id, model, null, null, null, attempts, metadata, source, error);
  }

  public boolean isError() {
    return error != null;
  }

  /** {@code outputs[0].text}, or null for an error result. */
  public String text() {
    return outputs == null || outputs.isEmpty() ? null : outputs.get(0).text();
  }
}
