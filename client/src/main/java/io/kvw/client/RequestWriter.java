package io.kvw.client;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvw.common.ChatMessage;
import io.kvw.common.InferenceRequest;
import io.kvw.common.RequestCodec;
import io.kvw.common.SamplingParams;
import java.io.UncheckedIOException;
import java.util.List;

/**
 * Writes an {@link InferenceRequest} as CONTRACT.md's request JSON, the inverse of
 * {@link RequestCodec#decode}: what {@code RequestCodec} reads back is the request written.
 */
public final class RequestWriter {
  private final ObjectMapper mapper = new ObjectMapper();

  public byte[] encode(InferenceRequest r) {
    ObjectNode o = mapper.createObjectNode();
    if (r.id() != null) {
      o.put("id", r.id());
    }
    if (r.model() != null) {
      o.put("model", r.model());
    }
    if (r.prompt() != null) {
      o.put("prompt", r.prompt());
    }
    if (r.messages() != null) {
      ArrayNode messages = o.putArray("messages");
      for (ChatMessage m : r.messages()) {
        messages.add(m.message()); // as the user gave it: parts, tool calls and all
      }
    }
    if (r.chat() != null) {
      setIfPresent(o, "chat_template_kwargs", r.chat().templateKwargs());
      setIfPresent(o, "tools", r.chat().tools());
      setIfPresent(o, "documents", r.chat().documents());
    }
    ObjectNode params = params(r.params());
    if (!params.isEmpty()) {
      o.set("params", params);
    }
    if (r.deadline() != null) {
      o.put("deadline", r.deadline().toString());
    }
    if (r.stream()) {
      o.put("stream", true);
    }
    if (r.metadata() != null) {
      o.set("metadata", r.metadata());
    }
    try {
      return mapper.writeValueAsBytes(o);
    } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
      throw new UncheckedIOException(e);
    }
  }

  private ObjectNode params(SamplingParams p) {
    ObjectNode o = mapper.createObjectNode();
    if (p == null) {
      return o;
    }
    putIfSet(o, "max_tokens", p.maxTokens());
    putIfSet(o, "temperature", p.temperature());
    putIfSet(o, "top_p", p.topP());
    putIfSet(o, "top_k", p.topK());
    putIfSet(o, "min_p", p.minP());
    putStrings(o, "stop", p.stop());
    putIfSet(o, "seed", p.seed());
    putIfSet(o, "n", p.n());
    putIfSet(o, "presence_penalty", p.presencePenalty());
    putIfSet(o, "frequency_penalty", p.frequencyPenalty());
    putIfSet(o, "repetition_penalty", p.repetitionPenalty());
    if (p.ignoreEos() != null) {
      o.put("ignore_eos", p.ignoreEos());
    }
    if (p.jsonSchema() != null) {
      o.put("json_schema", p.jsonSchema());
    }
    if (p.regex() != null) {
      o.put("regex", p.regex());
    }
    putStrings(o, "choice", p.choice());
    putIfSet(o, "logprobs", p.logprobs());
    putIfSet(o, "prompt_logprobs", p.promptLogprobs());
    if (p.stopTokenIds() != null && !p.stopTokenIds().isEmpty()) {
      ArrayNode a = o.putArray("stop_token_ids");
      p.stopTokenIds().forEach(a::add);
    }
    putIfSet(o, "min_tokens", p.minTokens());
    if (p.logitBias() != null && !p.logitBias().isEmpty()) {
      ObjectNode bias = o.putObject("logit_bias");
      p.logitBias().forEach((token, value) -> bias.put(token.toString(), value));
    }
    putIfSet(o, "include_stop_str_in_output", p.includeStopStrInOutput());
    putIfSet(o, "truncate_prompt_tokens", p.truncatePromptTokens());
    putIfSet(o, "skip_special_tokens", p.skipSpecialTokens());
    if (p.grammar() != null) {
      o.put("grammar", p.grammar());
    }
    putIfSet(o, "json_object", p.jsonObject());
    if (p.structuralTag() != null) {
      o.put("structural_tag", p.structuralTag());
    }
    return o;
  }

  private static void putIfSet(ObjectNode o, String name, Boolean v) {
    if (v != null) {
      o.put(name, v);
    }
  }

  private static void setIfPresent(ObjectNode o, String name,
      com.fasterxml.jackson.databind.JsonNode v) {
    if (v != null && !v.isNull()) {
      o.set(name, v);
    }
  }

  private static void putIfSet(ObjectNode o, String name, Number v) {
    if (v instanceof Integer i) {
      o.put(name, i);
    } else if (v instanceof Double d) {
      o.put(name, d);
    }
  }

  private static void putStrings(ObjectNode o, String name, List<String> values) {
    if (values != null && !values.isEmpty()) {
      ArrayNode a = o.putArray(name);
      values.forEach(a::add);
    }
  }
}
