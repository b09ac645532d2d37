package io.kvw.common;

import static io.kvw.common.RequestCodec.bool;
import static io.kvw.common.RequestCodec.describe;
import static io.kvw.common.RequestCodec.integer;
import static io.kvw.common.RequestCodec.kind;
import static io.kvw.common.RequestCodec.number;
import static io.kvw.common.RequestCodec.optionalText;
import static io.kvw.common.RequestCodec.present;
import static io.kvw.common.RequestCodec.strings;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvw.common.RequestCodec.Invalid;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads a request's {@code params} object into {@link SamplingParams}, with vLLM's ranges:
 * what vLLM would refuse is refused here, before a call, with a message naming the field.
 */
final class ParamsDecoder {
  /** vLLM's default {@code --max-logprobs}: more alternatives per token are refused. */
  static final int MAX_LOGPROBS = 20;
  private static final List<String> CONSTRAINTS = List.of("json_schema", "regex", "choice",
      "grammar", "json_object", "structural_tag");

  private final RequestLimits limits;
  private final ObjectMapper writer = new ObjectMapper();

  ParamsDecoder(RequestLimits limits) {
    this.limits = limits;
  }

  SamplingParams decode(JsonNode p) throws Invalid {
    if (p == null) {
      return SamplingParams.DEFAULTS;
    }
    if (!p.isObject()) {
      throw new Invalid("params must be a JSON object, got " + kind(p));
    }
    SamplingParams.Builder b = SamplingParams.builder()
        .maxTokens(integer(p, "max_tokens", 1, limits.maxTokens()))
        .temperature(number(p, "temperature", 0, Double.MAX_VALUE, true, true))
        .topP(number(p, "top_p", 0, 1, false, true))
        .topK(integer(p, "top_k", -1, Integer.MAX_VALUE))
        .minP(number(p, "min_p", 0, 1, true, true))
        .stop(stop(present(p.get("stop"))))
        .seed(integer(p, "seed", Integer.MIN_VALUE, Integer.MAX_VALUE))
        .n(integer(p, "n", 1, limits.maxSamples()))
        .presencePenalty(number(p, "presence_penalty", -2, 2, true, true))
        .frequencyPenalty(number(p, "frequency_penalty", -2, 2, true, true))
        .repetitionPenalty(number(p, "repetition_penalty", 0, 2, false, true))
        .ignoreEos(bool(p, "ignore_eos"))
        .logprobs(integer(p, "logprobs", 0, MAX_LOGPROBS))
        .promptLogprobs(integer(p, "prompt_logprobs", 0, MAX_LOGPROBS))
        .stopTokenIds(tokenIds(present(p.get("stop_token_ids"))))
        .includeStopStrInOutput(bool(p, "include_stop_str_in_output"))
        .skipSpecialTokens(bool(p, "skip_special_tokens"))
        .logitBias(logitBias(present(p.get("logit_bias"))));
    Integer maxTokens = integer(p, "max_tokens", 1, limits.maxTokens());
    Integer minTokens = integer(p, "min_tokens", 0, limits.maxTokens());
    if (minTokens != null && maxTokens != null && minTokens > maxTokens) {
      throw new Invalid("params.min_tokens (" + minTokens + ") must not exceed max_tokens ("
          + maxTokens + ")");
    }
    b.minTokens(minTokens);
    Integer truncate = integer(p, "truncate_prompt_tokens", -1, Integer.MAX_VALUE);
    if (truncate != null && truncate == 0) {
      throw new Invalid("params.truncate_prompt_tokens must be -1 (the model's context) or at "
          + "least 1, got 0");
    }
    b.truncatePromptTokens(truncate);
    constraint(p, b);
    return b.build();
  }

  /** At most one structured-output constraint, each checked for shape. */
  private void constraint(JsonNode p, SamplingParams.Builder b) throws Invalid {
    List<String> given = new ArrayList<>();
    for (String name : CONSTRAINTS) {
      JsonNode v = present(p.get(name));
      // json_object: false asks for nothing, so it is no constraint
      if (v != null && !(name.equals("json_object") && v.isBoolean() && !v.booleanValue())) {
        given.add(name);
      }
    }
    if (given.size() > 1) {
      throw new Invalid("params may set at most one of " + String.join(", ", CONSTRAINTS)
          + "; got " + String.join(", ", given));
    }
    b.jsonSchema(jsonText(p, "json_schema"));
    b.regex(nonEmptyText(p, "regex"));
    b.grammar(nonEmptyText(p, "grammar"));
    b.structuralTag(jsonText(p, "structural_tag"));
    Boolean jsonObject = bool(p, "json_object");
    b.jsonObject(Boolean.TRUE.equals(jsonObject) ? Boolean.TRUE : null);
    JsonNode choiceNode = present(p.get("choice"));
    if (choiceNode != null) {
      List<String> choice = strings(choiceNode, "params.choice", Integer.MAX_VALUE);
      if (choice.isEmpty()) {
        throw new Invalid("params.choice must list at least one string");
      }
      b.choice(choice);
    }
  }

  /** A JSON object (serialised) or a non-empty string holding JSON. */
  private String jsonText(JsonNode p, String name) throws Invalid {
    JsonNode v = present(p.get(name));
    if (v == null) {
      return null;
    }
    if (v.isObject()) {
      try {
        return writer.writeValueAsString(v);
      } catch (JsonProcessingException e) {
        throw new Invalid("params." + name + " cannot be serialised");
      }
    }
    if (v.isTextual() && !v.textValue().isBlank()) {
      return v.textValue();
    }
    throw new Invalid("params." + name + " must be a JSON object or a non-empty string");
  }

  private static String nonEmptyText(JsonNode p, String name) throws Invalid {
    String s = optionalText(p, name, "params." + name);
    if (s != null && s.isEmpty()) {
      throw new Invalid("params." + name + " must not be empty");
    }
    return s;
  }

  private List<String> stop(JsonNode node) throws Invalid {
    if (node == null) {
      return List.of();
    }
    if (node.isTextual()) {
      if (node.textValue().isEmpty()) {
        throw new Invalid("params.stop must not be an empty string");
      }
      return List.of(node.textValue());
    }
    List<String> out = strings(node, "params.stop", limits.maxStopSequences());
    for (String s : out) {
      if (s.isEmpty()) {
        throw new Invalid("params.stop must not contain an empty string");
      }
    }
    return out;
  }

  private List<Integer> tokenIds(JsonNode node) throws Invalid {
    if (node == null) {
      return List.of();
    }
    if (!node.isArray()) {
      throw new Invalid("params.stop_token_ids must be an array of token ids, got "
          + kind(node));
    }
    if (node.size() > limits.maxStopSequences()) {
      throw new Invalid("params.stop_token_ids has " + node.size() + " entries, over the limit "
          + "of " + limits.maxStopSequences());
    }
    List<Integer> out = new ArrayList<>(node.size());
    for (JsonNode id : node) {
      if (!id.isIntegralNumber() || !id.canConvertToInt() || id.intValue() < 0) {
        throw new Invalid("params.stop_token_ids must hold token ids (whole numbers from 0), "
            + "got " + describe(id));
      }
      out.add(id.intValue());
    }
    return out;
  }

  /** OpenAI's shape: {"token id": bias}, the id as a string key, the bias in [-100, 100]. */
  private static Map<Integer, Double> logitBias(JsonNode node) throws Invalid {
    if (node == null) {
      return Map.of();
    }
    if (!node.isObject()) {
      throw new Invalid("params.logit_bias must be an object of token id to bias, got "
          + kind(node));
    }
    Map<Integer, Double> out = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      int id;
      try {
        id = Integer.parseInt(e.getKey());
      } catch (NumberFormatException ex) {
        throw new Invalid("params.logit_bias keys must be token ids (whole numbers from 0)");
      }
      if (id < 0) {
        throw new Invalid("params.logit_bias keys must be token ids (whole numbers from 0)");
      }
      JsonNode v = e.getValue();
      if (!v.isNumber() || !Double.isFinite(v.doubleValue()) || v.doubleValue() < -100
          || v.doubleValue() > 100) {
        throw new Invalid("params.logit_bias values must be numbers in [-100, 100], got "
            + describe(v));
      }
      out.put(id, v.doubleValue());
    }
    return out;
  }
}
