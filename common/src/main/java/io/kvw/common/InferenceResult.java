package io.kvw.common;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.List;

/**
 * A result or an error result (CONTRACT.md, "Result"). An error result has {@code error} set
 * and {@code outputs}, {@code usage} and {@code timing} null. {@code promptLogprobs} is set
 * only when the request asked for {@code prompt_logprobs}. An embedding result has
 * {@code embeddings} set (one per input, in input order) and {@code outputs} empty.
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
    ErrorInfo error,
    List<TokenLogprob> promptLogprobs,
    List<Embedding> embeddings) {

  public InferenceResult(String id, String model, List<Output> outputs, Usage usage,
      Timing timing, int attempts, JsonNode metadata, RecordSource source, ErrorInfo error,
      List<TokenLogprob> promptLogprobs) {
    this(id, model, outputs, usage, timing, attempts, metadata, source, error, promptLogprobs,
        null);
  }

  /** The result of an embedding request: one embedding per input, in input order. */
  public static InferenceResult embedded(String id, String model, List<Embedding> embeddings,
      Usage usage, Timing timing, int attempts, JsonNode metadata, RecordSource source) {
    return new InferenceResult(id, model, List.of(), usage, timing, attempts, metadata, source,
        null, null, List.copyOf(embeddings));
  }

  public boolean isEmbedding() {
    return embeddings != null;
  }

  public static InferenceResult success(String id, String model, List<Output> outputs,
      Usage usage, Timing timing, int attempts, JsonNode metadata, RecordSource source) {
    return success(id, model, outputs, usage, timing, attempts, metadata, source, null);
  }

  /**
   * A result with the prompt's log probabilities: one entry per prompt token, the first null
   * (nothing precedes it), or null when the request did not ask for them.
   */
  public static InferenceResult success(String id, String model, List<Output> outputs,
      Usage usage, Timing timing, int attempts, JsonNode metadata, RecordSource source,
      List<TokenLogprob> promptLogprobs) {
    return new InferenceResult(id, model, List.copyOf(outputs), usage, timing, attempts,
        metadata, source, null, promptLogprobs == null ? null
            : java.util.Collections.unmodifiableList(new java.util.ArrayList<>(promptLogprobs)));
  }

  public static InferenceResult failure(String id, String model, ErrorInfo error, int attempts,
      JsonNode metadata, RecordSource source) {
    return new InferenceResult(id, model, null, null, null, attempts, metadata, source, error,
        null);
  }

  public boolean isError() {
    return error != null;
  }

  /** {@code outputs[0].text}, or null for an error result. */
  public String text() {
    return outputs == null || outputs.isEmpty() ? null : outputs.get(0).text();
  }
}
