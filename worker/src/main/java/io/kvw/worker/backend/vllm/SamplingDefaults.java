package io.kvw.worker.backend.vllm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvw.common.SamplingParams;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The model's own sampling defaults (its {@code generation_config}), as vLLM's servicer
 * reports them in {@code GetModelInfoResponse.default_sampling_params_json}: some of
 * temperature, top_p, top_k, min_p and repetition_penalty. vLLM's gRPC servicer does not
 * apply them (unset means vLLM's raw defaults there), but its OpenAI server and the smg
 * router do, for every request that leaves a field unset; so does the worker. An explicit
 * value, 0 included, always wins.
 */
public final class SamplingDefaults {
  /** No defaults: unset parameters stay unset. */
  public static final SamplingDefaults NONE = new SamplingDefaults(null, null, null, null,
      null);

  private final Double temperature;
  private final Double topP;
  private final Integer topK;
  private final Double minP;
  private final Double repetitionPenalty;

  private SamplingDefaults(Double temperature, Double topP, Integer topK, Double minP,
      Double repetitionPenalty) {
    this.temperature = temperature;
    this.topP = topP;
    this.topK = topK;
    this.minP = minP;
    this.repetitionPenalty = repetitionPenalty;
  }

  /**
   * Reads the servicer's JSON (empty when the model has none). Keys other than the five are
   * ignored, as are values of the wrong type: they are the server's, not the user's.
   *
   * @throws IllegalArgumentException when the text is not a JSON object
   */
  public static SamplingDefaults parse(String json) {
    if (json == null || json.isBlank()) {
      return NONE;
    }
    JsonNode n;
    try {
      n = new ObjectMapper().readTree(json);
    } catch (IOException e) {
      throw new IllegalArgumentException("default_sampling_params_json is not JSON: "
          + e.getMessage(), e);
    }
    if (n == null || !n.isObject()) {
      throw new IllegalArgumentException("default_sampling_params_json is not a JSON object");
    }
    return new SamplingDefaults(number(n, "temperature"), number(n, "top_p"),
        n.path("top_k").isIntegralNumber() ? n.get("top_k").intValue() : null,
        number(n, "min_p"), number(n, "repetition_penalty"));
  }

  private static Double number(JsonNode n, String key) {
    JsonNode v = n.get(key);
    return v != null && v.isNumber() ? v.doubleValue() : null;
  }

  /** {@code p} with every unset field among the five taken from these defaults. */
  public SamplingParams applyTo(SamplingParams p) {
    if (this == NONE || (p.temperature() != null || temperature == null)
        && (p.topP() != null || topP == null) && (p.topK() != null || topK == null)
        && (p.minP() != null || minP == null)
        && (p.repetitionPenalty() != null || repetitionPenalty == null)) {
      return p;
    }
    return p.toBuilder()
        .temperature(p.temperature() != null ? p.temperature() : temperature)
        .topP(p.topP() != null ? p.topP() : topP)
        .topK(p.topK() != null ? p.topK() : topK)
        .minP(p.minP() != null ? p.minP() : minP)
        .repetitionPenalty(p.repetitionPenalty() != null ? p.repetitionPenalty()
            : repetitionPenalty)
        .build();
  }

  /** The defaults found, by vLLM's names, for the start-up log. */
  public Map<String, Object> asMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    put(m, "temperature", temperature);
    put(m, "top_p", topP);
    put(m, "top_k", topK);
    put(m, "min_p", minP);
    put(m, "repetition_penalty", repetitionPenalty);
    return m;
  }

  private static void put(Map<String, Object> m, String key, Object value) {
    if (value != null) {
      m.put(key, value);
    }
  }
}
