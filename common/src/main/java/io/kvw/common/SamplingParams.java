package io.kvw.common;

import java.util.List;
import java.util.Map;

/**
 * Sampling parameters with vLLM's names and meanings. A null field is left unset: the worker
 * fills temperature, top_p, top_k, min_p and repetition_penalty from the model's defaults
 * (like vLLM's own OpenAI server), everything else gets vLLM's default. At most one
 * constraint ({@code jsonSchema}, {@code regex}, {@code choice}, {@code grammar},
 * {@code jsonObject}, {@code structuralTag}) is set. Build with {@link #builder()}.
 *
 * @param jsonSchema the schema as JSON text (an object in the request is serialised)
 * @param logprobs how many top alternatives to report per output token; 0 reports only the
 *     sampled token's log probability; null reports none
 * @param promptLogprobs the same for the prompt's tokens
 * @param logitBias token id to a bias in [-100, 100] added to its logit
 * @param truncatePromptTokens keep only the last this many prompt tokens (-1: as many as the
 *     model's context allows)
 * @param skipSpecialTokens whether special tokens are left out of the text (default true)
 * @param jsonObject true to force a JSON object; null otherwise
 * @param structuralTag vLLM's structural tag as JSON text
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
    List<String> choice,
    Integer logprobs,
    Integer promptLogprobs,
    List<Integer> stopTokenIds,
    Integer minTokens,
    Map<Integer, Double> logitBias,
    Boolean includeStopStrInOutput,
    Integer truncatePromptTokens,
    Boolean skipSpecialTokens,
    String grammar,
    Boolean jsonObject,
    String structuralTag) {

  public static final SamplingParams DEFAULTS = builder().build();

  public SamplingParams {
    stop = stop == null ? List.of() : List.copyOf(stop);
    stopTokenIds = stopTokenIds == null ? List.of() : List.copyOf(stopTokenIds);
    logitBias = logitBias == null ? Map.of() : Map.copyOf(logitBias);
  }

  /** The number of samples asked for (vLLM's {@code n}, default 1). */
  public int samples() {
    return n == null ? 1 : n;
  }

  /** Whether special tokens are left out of the output text (vLLM's default: yes). */
  public boolean skipsSpecialTokens() {
    return skipSpecialTokens == null || skipSpecialTokens;
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.maxTokens = maxTokens;
    b.temperature = temperature;
    b.topP = topP;
    b.topK = topK;
    b.minP = minP;
    b.stop = stop;
    b.seed = seed;
    b.n = n;
    b.presencePenalty = presencePenalty;
    b.frequencyPenalty = frequencyPenalty;
    b.repetitionPenalty = repetitionPenalty;
    b.ignoreEos = ignoreEos;
    b.jsonSchema = jsonSchema;
    b.regex = regex;
    b.choice = choice;
    b.logprobs = logprobs;
    b.promptLogprobs = promptLogprobs;
    b.stopTokenIds = stopTokenIds;
    b.minTokens = minTokens;
    b.logitBias = logitBias;
    b.includeStopStrInOutput = includeStopStrInOutput;
    b.truncatePromptTokens = truncatePromptTokens;
    b.skipSpecialTokens = skipSpecialTokens;
    b.grammar = grammar;
    b.jsonObject = jsonObject;
    b.structuralTag = structuralTag;
    return b;
  }

  /** Builds parameters; every field starts unset. */
  public static final class Builder {
    private Integer maxTokens;
    private Double temperature;
    private Double topP;
    private Integer topK;
    private Double minP;
    private List<String> stop = List.of();
    private Integer seed;
    private Integer n;
    private Double presencePenalty;
    private Double frequencyPenalty;
    private Double repetitionPenalty;
    private Boolean ignoreEos;
    private String jsonSchema;
    private String regex;
    private List<String> choice;
    private Integer logprobs;
    private Integer promptLogprobs;
    private List<Integer> stopTokenIds = List.of();
    private Integer minTokens;
    private Map<Integer, Double> logitBias = Map.of();
    private Boolean includeStopStrInOutput;
    private Integer truncatePromptTokens;
    private Boolean skipSpecialTokens;
    private String grammar;
    private Boolean jsonObject;
    private String structuralTag;

    private Builder() {}

    public Builder maxTokens(Integer v) {
      maxTokens = v;
      return this;
    }

    public Builder temperature(Double v) {
      temperature = v;
      return this;
    }

    public Builder topP(Double v) {
      topP = v;
      return this;
    }

    public Builder topK(Integer v) {
      topK = v;
      return this;
    }

    public Builder minP(Double v) {
      minP = v;
      return this;
    }

    public Builder stop(List<String> v) {
      stop = v;
      return this;
    }

    public Builder seed(Integer v) {
      seed = v;
      return this;
    }

    public Builder n(Integer v) {
      n = v;
      return this;
    }

    public Builder presencePenalty(Double v) {
      presencePenalty = v;
      return this;
    }

    public Builder frequencyPenalty(Double v) {
      frequencyPenalty = v;
      return this;
    }

    public Builder repetitionPenalty(Double v) {
      repetitionPenalty = v;
      return this;
    }

    public Builder ignoreEos(Boolean v) {
      ignoreEos = v;
      return this;
    }

    public Builder jsonSchema(String v) {
      jsonSchema = v;
      return this;
    }

    public Builder regex(String v) {
      regex = v;
      return this;
    }

    public Builder choice(List<String> v) {
      choice = v;
      return this;
    }

    public Builder logprobs(Integer v) {
      logprobs = v;
      return this;
    }

    public Builder promptLogprobs(Integer v) {
      promptLogprobs = v;
      return this;
    }

    public Builder stopTokenIds(List<Integer> v) {
      stopTokenIds = v;
      return this;
    }

    public Builder minTokens(Integer v) {
      minTokens = v;
      return this;
    }

    public Builder logitBias(Map<Integer, Double> v) {
      logitBias = v;
      return this;
    }

    public Builder includeStopStrInOutput(Boolean v) {
      includeStopStrInOutput = v;
      return this;
    }

    public Builder truncatePromptTokens(Integer v) {
      truncatePromptTokens = v;
      return this;
    }

    public Builder skipSpecialTokens(Boolean v) {
      skipSpecialTokens = v;
      return this;
    }

    public Builder grammar(String v) {
      grammar = v;
      return this;
    }

    public Builder jsonObject(Boolean v) {
      jsonObject = v;
      return this;
    }

    public Builder structuralTag(String v) {
      structuralTag = v;
      return this;
    }

    public SamplingParams build() {
      return new SamplingParams(maxTokens, temperature, topP, topK, minP, stop, seed, n,
          presencePenalty, frequencyPenalty, repetitionPenalty, ignoreEos, jsonSchema, regex,
          choice, logprobs, promptLogprobs, stopTokenIds, minTokens, logitBias,
          includeStopStrInOutput, truncatePromptTokens, skipSpecialTokens, grammar, jsonObject,
          structuralTag);
    }
  }
}
