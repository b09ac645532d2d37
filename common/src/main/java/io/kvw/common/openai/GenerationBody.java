package io.kvw.common.openai;

import static io.kvw.common.RequestCodec.describe;
import static io.kvw.common.RequestCodec.kind;
import static io.kvw.common.RequestCodec.present;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Maps a Chat Completions or Completions body (OpenAI's fields and vLLM's extra ones, as vLLM's
 * {@code ChatCompletionRequest} and {@code CompletionRequest} accept them) onto CONTRACT.md's
 * request JSON, which {@code RequestCodec} then validates like any other. Every field of the
 * body is either mapped, accepted as bookkeeping without effect ({@link #BOOKKEEPING}),
 * accepted only at its default value ({@link #DEFAULT_ONLY}), or refused by name: nothing is
 * dropped silently.
 */
final class GenerationBody {
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  /** Sampling fields with vLLM's names, copied into {@code params} as they are. */
  static final Set<String> SAMPLING = Set.of("temperature", "top_p", "top_k", "min_p", "seed",
      "n", "presence_penalty", "frequency_penalty", "repetition_penalty", "stop",
      "stop_token_ids", "include_stop_str_in_output", "skip_special_tokens", "ignore_eos",
      "min_tokens", "logit_bias", "prompt_logprobs", "truncate_prompt_tokens");

  /**
   * Accepted and without effect: identifiers for the caller's own accounting (OpenAI's
   * {@code user}, {@code safety_identifier}), a cache hint vLLM's prefix cache makes moot,
   * and {@code parallel_tool_calls}, which only a tool-call parser would read.
   */
  static final Set<String> BOOKKEEPING = Set.of("user", "safety_identifier",
      "prompt_cache_key", "parallel_tool_calls");

  /** Fields accepted at their default only: any other value asks for what the worker lacks. */
  static final Map<String, JsonNode> DEFAULT_ONLY = Map.ofEntries(
      Map.entry("echo", BooleanNode.FALSE),
      Map.entry("use_beam_search", BooleanNode.FALSE),
      Map.entry("length_penalty", IntNode.valueOf(1)),
      Map.entry("spaces_between_special_tokens", BooleanNode.TRUE),
      Map.entry("priority", IntNode.valueOf(0)),
      Map.entry("return_tokens_as_token_ids", BooleanNode.FALSE),
      Map.entry("return_token_ids", BooleanNode.FALSE),
      Map.entry("store", BooleanNode.FALSE));

  /** Chat-only fields accepted at their default only. */
  static final Map<String, JsonNode> CHAT_DEFAULT_ONLY = Map.of(
      "add_generation_prompt", BooleanNode.TRUE,
      "continue_final_message", BooleanNode.FALSE,
      "add_special_tokens", BooleanNode.FALSE,
      "include_reasoning", BooleanNode.TRUE);

  /** Completions-only fields accepted at their default only. */
  static final Map<String, JsonNode> COMPLETIONS_DEFAULT_ONLY = Map.of(
      "add_special_tokens", BooleanNode.TRUE);

  /** Fields refused whatever their value, with the reason. */
  static final Map<String, String> REFUSED = Map.ofEntries(
      Map.entry("audio", "audio output is not supported; the worker returns text"),
      Map.entry("prediction", "predicted outputs are not supported"),
      Map.entry("web_search_options", "web search is not supported"),
      Map.entry("verbosity", "the worker cannot steer verbosity"),
      Map.entry("functions", "function calling needs a tool-call parser, which the worker "
          + "does not have"),
      Map.entry("function_call", "function calling needs a tool-call parser, which the worker "
          + "does not have"),
      Map.entry("suffix", "suffix (insertion) is not supported"),
      Map.entry("chat_template", "a per-request chat template is not supported; the worker "
          + "renders the model's own"),
      Map.entry("mm_processor_kwargs", "multimodal input is not supported"),
      Map.entry("prompt_embeds", "prompt embeddings are not supported"),
      Map.entry("guided_decoding_backend", "the structured-output backend is the vLLM "
          + "server's choice"),
      Map.entry("guided_whitespace_pattern", "vLLM's gRPC protocol does not carry it"),
      Map.entry("logits_processors", "vLLM's gRPC protocol does not carry it"),
      Map.entry("allowed_token_ids", "vLLM's gRPC protocol does not carry it"),
      Map.entry("bad_words", "vLLM's gRPC protocol does not carry it"),
      Map.entry("cache_salt", "vLLM's gRPC protocol does not carry it"),
      Map.entry("kv_transfer_params", "vLLM's gRPC protocol does not carry it"),
      Map.entry("vllm_xargs", "vLLM's gRPC protocol does not carry it"));

  /** The vLLM guided-decoding fields and the constraint each one sets. */
  private static final Map<String, String> GUIDED = Map.of("guided_json", "json_schema",
      "guided_regex", "regex", "guided_choice", "choice", "guided_grammar", "grammar");

  /** structured_outputs' keys and the constraint each one sets. */
  private static final Map<String, String> STRUCTURED = Map.of("json", "json_schema",
      "regex", "regex", "choice", "choice", "grammar", "grammar", "json_object",
      "json_object");

  /** A field the worker cannot honour; its message names the field first. */
  private static final class Refusal extends Exception {
    Refusal(String message) {
      super(message, null, false, false);
    }
  }

  TranslatedBody translate(OpenAiEndpoint endpoint, ObjectNode body, String id) {
    boolean chat = endpoint == OpenAiEndpoint.CHAT_COMPLETIONS;
    JsonNode logprobs = present(body.get("logprobs"));
    OpenAiCall call = new OpenAiCall(endpoint, id, chat ? logprobs != null
        && logprobs.isBoolean() && logprobs.booleanValue() : logprobs != null, false);
    JsonNode metadata = present(body.get("metadata"));
    try {
      ObjectNode request = chat ? chat(body, id) : completions(body, id);
      return new TranslatedBody(request, call, null, null);
    } catch (Refusal r) {
      return new TranslatedBody(null, call, r.getMessage(),
          metadata != null && metadata.isObject() ? metadata : null);
    }
  }

  private ObjectNode chat(ObjectNode body, String id) throws Refusal {
    ObjectNode request = common(body, id, CHAT_DEFAULT_ONLY, Set.of("messages", "tools",
        "tool_choice", "documents", "chat_template_kwargs", "reasoning_effort", "logprobs",
        "top_logprobs", "max_completion_tokens", "modalities"));
    ObjectNode params = (ObjectNode) request.get("params");
    copy(body, request, "messages");
    copy(body, request, "tools");
    copy(body, request, "documents");
    copy(body, request, "chat_template_kwargs");
    toolChoice(body);
    JsonNode effort = present(body.get("reasoning_effort"));
    if (effort != null) {
      if (!effort.isTextual()) {
        throw new Refusal("reasoning_effort must be a string, got " + kind(effort));
      }
      // vLLM's server hands it to the chat template; explicit chat_template_kwargs win
      JsonNode kwargs = request.get("chat_template_kwargs");
      if (kwargs == null) {
        kwargs = request.putObject("chat_template_kwargs");
      }
      if (kwargs.isObject() && !kwargs.has("reasoning_effort")) {
        ((ObjectNode) kwargs).set("reasoning_effort", effort);
      }
    }
    JsonNode modalities = present(body.get("modalities"));
    if (modalities != null && !modalities.equals(NODES.arrayNode().add("text"))) {
      throw new Refusal("modalities: only [\"text\"] is supported");
    }
    JsonNode logprobs = present(body.get("logprobs"));
    JsonNode top = present(body.get("top_logprobs"));
    if (logprobs != null && !logprobs.isBoolean()) {
      throw new Refusal("logprobs must be true or false in a chat completion, got "
          + describe(logprobs));
    }
    boolean wantsLogprobs = logprobs != null && logprobs.booleanValue();
    if (top != null) {
      if (!top.isIntegralNumber() || top.intValue() < 0 || top.intValue() > 20) {
        throw new Refusal("top_logprobs must be a whole number from 0 to 20, got "
            + describe(top));
      }
      if (!wantsLogprobs) {
        throw new Refusal("top_logprobs needs logprobs: true");
      }
    }
    if (wantsLogprobs) {
      params.put("logprobs", top == null ? 0 : top.intValue());
    }
    JsonNode maxCompletion = present(body.get("max_completion_tokens"));
    if (maxCompletion != null) {
      if (!maxCompletion.isIntegralNumber() || maxCompletion.longValue() < 1) {
        throw new Refusal("max_completion_tokens must be a whole number from 1, got "
            + describe(maxCompletion));
      }
      params.set("max_tokens", maxCompletion); // vLLM: max_completion_tokens or max_tokens
    }
    return request;
  }

  private ObjectNode completions(ObjectNode body, String id) throws Refusal {
    ObjectNode request = common(body, id, COMPLETIONS_DEFAULT_ONLY, Set.of("prompt",
        "logprobs"));
    ObjectNode params = (ObjectNode) request.get("params");
    JsonNode prompt = present(body.get("prompt"));
    if (prompt != null && prompt.isArray()) {
      if (prompt.size() != 1 || !prompt.get(0).isTextual()) {
        throw new Refusal("prompt must be one string: a list of prompts or of token ids is not "
            + "supported (send one record per prompt)");
      }
      prompt = prompt.get(0);
    }
    if (prompt != null) {
      request.set("prompt", prompt);
    }
    copy(body, params, "logprobs");
    if (!params.has("max_tokens")) {
      params.put("max_tokens", 16); // OpenAI's and vLLM's default for completions
    }
    return request;
  }

  /**
   * The fields both endpoints share; refuses every field that is neither shared, nor in
   * {@code own} (the endpoint's fields, mapped by the caller), nor accepted at its default.
   */
  private ObjectNode common(ObjectNode body, String id, Map<String, JsonNode> ownDefaults,
      Set<String> own) throws Refusal {
    ObjectNode request = NODES.objectNode();
    request.put("id", id);
    ObjectNode params = request.putObject("params");
    for (Iterator<Map.Entry<String, JsonNode>> it = body.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> field = it.next();
      String name = field.getKey();
      JsonNode value = field.getValue();
      if (value.isNull() || own.contains(name) || BOOKKEEPING.contains(name)
          || SHARED.contains(name)) {
        continue;
      }
      if (SAMPLING.contains(name)) {
        params.set(name, value);
        continue;
      }
      JsonNode fixed = DEFAULT_ONLY.containsKey(name) ? DEFAULT_ONLY.get(name)
          : ownDefaults.get(name);
      if (fixed != null) {
        if (!sameValue(fixed, value)) {
          throw new Refusal(name + ": only " + fixed + " is supported, got " + describe(value));
        }
        continue;
      }
      String reason = REFUSED.get(name);
      throw new Refusal(name + " is not supported by this worker"
          + (reason == null ? "" : ": " + reason));
    }
    copy(body, request, "model");
    JsonNode metadata = present(body.get("metadata"));
    if (metadata != null) {
      request.set("metadata", metadata);
    }
    copy(body, params, "max_tokens");
    stream(body, request);
    bestOf(body);
    responseFormat(body, params);
    for (Map.Entry<String, String> g : GUIDED.entrySet()) {
      JsonNode v = present(body.get(g.getKey()));
      if (v != null) {
        setConstraint(params, g.getValue(), v, g.getKey());
      }
    }
    structuredOutputs(body, params);
    serviceTier(body);
    return request;
  }

  /** Fields both endpoints map in {@link #common}. */
  private static final Set<String> SHARED = Set.of("model", "metadata", "max_tokens",
      "stream", "stream_options", "best_of", "response_format", "guided_json", "guided_regex",
      "guided_choice", "guided_grammar", "structured_outputs", "service_tier", "request_id");

  private static void stream(ObjectNode body, ObjectNode request) throws Refusal {
    JsonNode stream = present(body.get("stream"));
    if (stream != null) {
      request.set("stream", stream);
    }
    JsonNode options = present(body.get("stream_options"));
    if (options == null) {
      return;
    }
    if (stream == null || !stream.isBoolean() || !stream.booleanValue()) {
      throw new Refusal("stream_options needs stream: true");
    }
    if (!options.isObject()) {
      throw new Refusal("stream_options must be an object, got " + kind(options));
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = options.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> o = it.next();
      JsonNode v = o.getValue();
      switch (o.getKey()) {
        case "include_usage" -> {
          // accepted: the final result carries usage whatever the partials do
        }
        case "continuous_usage_stats" -> {
          if (!v.isNull() && !BooleanNode.FALSE.equals(v)) {
            throw new Refusal("stream_options.continuous_usage_stats is not supported: the "
                + "stream topic's partial outputs carry no usage");
          }
        }
        default -> throw new Refusal("stream_options." + o.getKey() + " is not supported by "
            + "this worker");
      }
    }
  }

  /** best_of equal to n is plain sampling; more samples to choose from is not supported. */
  private static void bestOf(ObjectNode body) throws Refusal {
    JsonNode bestOf = present(body.get("best_of"));
    if (bestOf == null) {
      return;
    }
    JsonNode n = present(body.get("n"));
    long samples = n != null && n.isIntegralNumber() ? n.longValue() : 1;
    if (!bestOf.isIntegralNumber() || bestOf.longValue() != samples) {
      throw new Refusal("best_of is supported only equal to n (" + samples + "), got "
          + describe(bestOf));
    }
  }

  private static void responseFormat(ObjectNode body, ObjectNode params) throws Refusal {
    JsonNode format = present(body.get("response_format"));
    if (format == null) {
      return;
    }
    String type = format.path("type").isTextual() ? format.get("type").textValue() : null;
    if (!format.isObject() || type == null) {
      throw new Refusal("response_format must be an object with a type (text, json_object or "
          + "json_schema)");
    }
    switch (type) {
      case "text" -> {
        // the default
      }
      case "json_object" -> setConstraint(params, "json_object", BooleanNode.TRUE,
          "response_format");
      case "json_schema" -> {
        JsonNode schema = format.path("json_schema").get("schema");
        if (schema == null || !schema.isObject()) {
          throw new Refusal("response_format.json_schema.schema must be a JSON Schema object");
        }
        setConstraint(params, "json_schema", schema, "response_format");
      }
      default -> throw new Refusal("response_format.type must be text, json_object or "
          + "json_schema (" + type + " is not supported by this worker)");
    }
  }

  private static void structuredOutputs(ObjectNode body, ObjectNode params) throws Refusal {
    JsonNode so = present(body.get("structured_outputs"));
    if (so == null) {
      return;
    }
    if (!so.isObject()) {
      throw new Refusal("structured_outputs must be an object, got " + kind(so));
    }
    for (Iterator<Map.Entry<String, JsonNode>> it = so.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getValue().isNull()) {
        continue;
      }
      String constraint = STRUCTURED.get(e.getKey());
      if (constraint == null) {
        throw new Refusal("structured_outputs." + e.getKey() + " is not supported by this "
            + "worker (json, regex, choice, grammar, json_object)");
      }
      setConstraint(params, constraint, e.getValue(), "structured_outputs." + e.getKey());
    }
  }

  /** One structured-output constraint; two set by different fields are refused. */
  private static void setConstraint(ObjectNode params, String constraint, JsonNode value,
      String from) throws Refusal {
    for (String c : List.of("json_schema", "regex", "choice", "grammar", "json_object")) {
      if (params.has(c)) {
        throw new Refusal(from + " cannot be combined with another structured-output field "
            + "(at most one of response_format, guided_*, structured_outputs)");
      }
    }
    params.set(constraint, value);
  }

  private static void serviceTier(ObjectNode body) throws Refusal {
    JsonNode tier = present(body.get("service_tier"));
    if (tier != null && !(tier.equals(TextNode.valueOf("auto"))
        || tier.equals(TextNode.valueOf("default")))) {
      throw new Refusal("service_tier: only auto or default is supported");
    }
  }

  /**
   * Tools reach the chat template; a tool call in the output would need vLLM's tool-call
   * parser, which the worker does not have. So only {@code tool_choice: "none"} is served
   * (vLLM defaults to auto when tools are given, and auto needs the parser).
   */
  private static void toolChoice(ObjectNode body) throws Refusal {
    JsonNode tools = present(body.get("tools"));
    JsonNode choice = present(body.get("tool_choice"));
    if (choice == null) {
      if (tools != null) {
        throw new Refusal("tool_choice is auto when tools are given, and auto needs a "
            + "tool-call parser, which this worker does not have; give tool_choice: \"none\" "
            + "to show the tools to the chat template only");
      }
      return;
    }
    if (!choice.equals(TextNode.valueOf("none"))) {
      throw new Refusal("tool_choice: only \"none\" is supported (tool calls in the output "
          + "need a tool-call parser, which this worker does not have)");
    }
  }

  private static boolean sameValue(JsonNode a, JsonNode b) {
    if (a.isNumber() && b.isNumber()) {
      return a.doubleValue() == b.doubleValue();
    }
    return a.equals(b);
  }

  private static void copy(JsonNode from, ObjectNode to, String name) {
    JsonNode v = present(from.get(name));
    if (v != null) {
      to.set(name, v);
    }
  }
}
