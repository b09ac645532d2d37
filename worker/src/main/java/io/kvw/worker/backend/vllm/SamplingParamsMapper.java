package io.kvw.worker.backend.vllm;

import io.kvw.common.SamplingParams;
import io.kvw.proto.vllm.ChoiceConstraint;

/**
 * Our request's sampling parameters as vLLM's protobuf. Unset stays unset: for the fields
 * without presence on the wire (top_p, top_k, min_p, the penalties, n) that is 0, which the
 * servicer reads as vLLM's default. The model's defaults are applied before this, by
 * {@link SamplingDefaults}.
 */
final class SamplingParamsMapper {
  private SamplingParamsMapper() {}

  static io.kvw.proto.vllm.SamplingParams toProto(SamplingParams p) {
    io.kvw.proto.vllm.SamplingParams.Builder b = io.kvw.proto.vllm.SamplingParams.newBuilder();
    if (p.maxTokens() != null) {
      b.setMaxTokens(p.maxTokens());
    }
    if (p.temperature() != null) {
      b.setTemperature(p.temperature().floatValue());
    }
    if (p.topP() != null) {
      b.setTopP(p.topP().floatValue());
    }
    if (p.topK() != null) {
      // vLLM takes -1 (or 0) for "no top-k"; the proto field is unsigned, 0 means off
      b.setTopK(Math.max(0, p.topK()));
    }
    if (p.minP() != null) {
      b.setMinP(p.minP().floatValue());
    }
    b.addAllStop(p.stop());
    b.addAllStopTokenIds(p.stopTokenIds());
    if (p.seed() != null) {
      b.setSeed(p.seed());
    }
    if (p.n() != null) {
      b.setN(p.n());
    }
    if (p.presencePenalty() != null) {
      b.setPresencePenalty(p.presencePenalty().floatValue());
    }
    if (p.frequencyPenalty() != null) {
      b.setFrequencyPenalty(p.frequencyPenalty().floatValue());
    }
    if (p.repetitionPenalty() != null) {
      b.setRepetitionPenalty(p.repetitionPenalty().floatValue());
    }
    if (p.ignoreEos() != null) {
      b.setIgnoreEos(p.ignoreEos());
    }
    if (p.minTokens() != null) {
      b.setMinTokens(p.minTokens());
    }
    if (p.logprobs() != null) {
      b.setLogprobs(p.logprobs());
    }
    if (p.promptLogprobs() != null) {
      b.setPromptLogprobs(p.promptLogprobs());
    }
    if (p.includeStopStrInOutput() != null) {
      b.setIncludeStopStrInOutput(p.includeStopStrInOutput());
    }
    if (p.truncatePromptTokens() != null) {
      b.setTruncatePromptTokens(p.truncatePromptTokens());
    }
    p.logitBias().forEach((id, bias) -> b.putLogitBias(id, bias.floatValue()));
    if (p.jsonSchema() != null) {
      b.setJsonSchema(p.jsonSchema());
    } else if (p.regex() != null) {
      b.setRegex(p.regex());
    } else if (p.choice() != null) {
      b.setChoice(ChoiceConstraint.newBuilder().addAllChoices(p.choice()));
    } else if (p.grammar() != null) {
      b.setGrammar(p.grammar());
    } else if (p.structuralTag() != null) {
      b.setStructuralTag(p.structuralTag());
    } else if (Boolean.TRUE.equals(p.jsonObject())) {
      b.setJsonObject(true);
    }
    // vLLM's OpenAI default; it matters to the server only when it detokenizes for stop
    // strings, and the worker decodes ids with the same rule
    b.setSkipSpecialTokens(p.skipsSpecialTokens());
    return b.build();
  }
}
