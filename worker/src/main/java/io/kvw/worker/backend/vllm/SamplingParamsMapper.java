package io.kvw.worker.backend.vllm;

import io.kvw.common.SamplingParams;
import io.kvw.proto.vllm.ChoiceConstraint;

/** Our request's sampling parameters as vLLM's protobuf; unset stays unset (vLLM's default). */
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
    if (p.stop() != null) {
      b.addAllStop(p.stop());
    }
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
    if (p.jsonSchema() != null) {
      b.setJsonSchema(p.jsonSchema());
    } else if (p.regex() != null) {
      b.setRegex(p.regex());
    } else if (p.choice() != null) {
      b.setChoice(ChoiceConstraint.newBuilder().addAllChoices(p.choice()));
    }
    // text out, not special tokens: the worker decodes ids itself with the same rule
    b.setSkipSpecialTokens(true);
    return b.build();
  }
}
