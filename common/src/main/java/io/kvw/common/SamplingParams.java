package io.kvw.common;

import java.util.List;

/**
 * Sampling parameters with vLLM's names and meanings. A null field is left unset, so vLLM
 * applies its own default. At most one of {@code jsonSchema}, {@code regex}, {@code choice}
 * is set.
 *
 * @param jsonSchema the schema as JSON text (an object in the request is serialised)
 */
public record SamplingParams(
    Integer maxTokens,
    Double temperature,
    Double topP,
    Integer topK,
    Double minP,
    List<String> stop,
    Integer seed,
    Integer n,
    Double presencePenalty,
    Double frequencyPenalty,
    Double repetitionPenalty,
    Boolean ignoreEos,
    String jsonSchema,
    String regex,
    List<String> choice) {

  public static final SamplingParams DEFAULTS =
      new SamplingParams(null, null, null, null, null, List.of(), null, null, null, null, null,
          null, null, null, null);

  /** The number of samples asked for (vLLM's {@code n}, default 1). */
  public int samples() {
    return n == null ? 1 : n;
  }
}
