package io.kvw.worker.backend.tokenizer;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvw.common.ChatMessage;
import io.kvw.worker.backend.tokenizer.jinja.ContentFormat;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The messages a chat template sees, built from the request's messages the way vLLM's
 * OpenAI-compatible server builds them ({@code _parse_chat_message_content} and
 * {@code _postprocess_messages} in {@code vllm/entrypoints/chat_utils.py}), so that the prompt
 * is the one vLLM would give the model.
 *
 * <ul>
 *   <li>Content becomes what the template expects ({@link ContentFormat}): for a
 *       {@link ContentFormat#STRING} template, text parts joined with {@code "\n"} (empty ones
 *       left out; null content is {@code ""}); for an {@link ContentFormat#OPENAI} one, a list
 *       of {@code {"type": "text", "text": ...}} parts (a string becomes one part).
 *   <li>Each message keeps {@code role}, {@code content}, {@code name}, {@code task}; an
 *       assistant's {@code tool_calls} and {@code reasoning} (also given to the template as
 *       {@code reasoning_content}); a tool's {@code tool_call_id}, with its text parts joined
 *       into one string whatever the format; a developer's {@code tools}. Other fields are
 *       dropped, as vLLM drops them.
 *   <li>Tool-call {@code arguments} sent as a JSON string become the object it encodes
 *       ({@code {}} when it is not JSON); empty {@code tool_calls} are dropped.
 * </ul>
 */
final class TemplateMessages {
  private static final ObjectMapper JSON = new ObjectMapper()
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
  /** Part types whose text vLLM passes on, and the field that holds it. */
  private static final Map<String, String> TEXT_PARTS = Map.of("text", "text",
      "input_text", "text", "output_text", "text", "refusal", "refusal",
      "thinking", "thinking");

  private TemplateMessages() {}

  /**
   * The template's {@code messages}.
   *
   * @throws ChatTemplateException when a message has a part that is not text (images and the
   *     like need a multimodal model, which the worker does not serve)
   */
  static List<Object> of(List<ChatMessage> messages, ContentFormat format) {
    List<Object> out = new ArrayList<>(messages.size());
    for (int i = 0; i < messages.size(); i++) {
      out.add(message(messages.get(i).message(), format, "messages[" + i + "]"));
    }
    return out;
  }

  private static Map<String, Object> message(JsonNode m, ContentFormat format, String at) {
    String role = m.path("role").asText();
    List<Object> parts = parts(m.get("content"), format, at);
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("role", role);
    out.put("content", format == ContentFormat.OPENAI ? parts : joined(parts));
    switch (role) {
      case "assistant" -> {
        if (present(m.get("tool_calls"))) {
          List<Object> calls = toolCalls(m.get("tool_calls"));
          if (!calls.isEmpty()) {
            out.put("tool_calls", calls);
          }
        }
        if (present(m.get("reasoning"))) {
          out.put("reasoning", plain(m.get("reasoning")));
          out.put("reasoning_content", plain(m.get("reasoning")));
        }
      }
      case "tool" -> {
        if (m.has("tool_call_id")) {
          out.put("tool_call_id", plain(m.get("tool_call_id")));
        }
        if (format == ContentFormat.OPENAI) {
          out.put("content", joined(parts.stream()
              .map(p -> ((Map<?, ?>) p).get("text")).toList()));
        }
      }
      default -> { }
    }
    if (m.path("name").isTextual()) {
      out.put("name", m.get("name").textValue());
    }
    if (m.path("task").isTextual()) {
      out.put("task", m.get("task").textValue());
    }
    if ("developer".equals(role)) {
      out.put("tools", plain(m.get("tools")));
    }
    return out;
  }

  /** The text parts of a content (a string is one), as the format wants them. */
  private static List<Object> parts(JsonNode content, ContentFormat format, String at) {
    List<Object> parts = new ArrayList<>();
    if (!present(content)) {
      return parts;
    }
    if (content.isTextual()) {
      addText(parts, content.textValue(), format);
      return parts;
    }
    for (int j = 0; j < content.size(); j++) {
      JsonNode part = content.get(j);
      if (part.isTextual()) {
        addText(parts, part.textValue(), format);
        continue;
      }
      String type = part.path("type").asText();
      String field = TEXT_PARTS.get(type);
      if (field == null) {
        throw new ChatTemplateException(at + ".content[" + j + "] is a '" + type
            + "' part: only text parts can be sent to this model", false);
      }
      JsonNode text = part.get(field);
      if (!present(text) && (type.equals("text") || type.equals("refusal"))) {
        continue; // vLLM skips a text part without text
      }
      addText(parts, present(text) ? text.asText() : null, format);
    }
    return parts;
  }

  /** A part as vLLM keeps it: wrapped for "openai" templates, else the text unless empty. */
  private static void addText(List<Object> parts, String text, ContentFormat format) {
    if (format == ContentFormat.OPENAI) {
      Map<String, Object> part = new LinkedHashMap<>();
      part.put("type", "text");
      part.put("text", text);
      parts.add(part);
    } else if (text != null && !text.isEmpty()) {
      parts.add(text);
    }
  }

  private static String joined(List<?> texts) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < texts.size(); i++) {
      if (i > 0) {
        s.append('\n');
      }
      s.append(texts.get(i) == null ? "" : texts.get(i));
    }
    return s.toString();
  }

  /** Tool calls as sent, with string arguments parsed ({@code {}} when not JSON). */
  private static List<Object> toolCalls(JsonNode calls) {
    List<Object> out = new ArrayList<>(calls.size());
    for (JsonNode call : calls) {
      @SuppressWarnings("unchecked")
      Map<String, Object> plainCall = (Map<String, Object>) plain(call);
      Object function = plainCall.get("function");
      if (function instanceof Map<?, ?> f) {
        @SuppressWarnings("unchecked")
        Map<String, Object> fn = (Map<String, Object>) f;
        fn.put("arguments", arguments(call.path("function").get("arguments")));
      }
      out.add(plainCall);
    }
    return out;
  }

  private static Object arguments(JsonNode arguments) {
    if (arguments != null && arguments.isTextual()) {
      try {
        JsonNode parsed = JSON.readTree(arguments.textValue());
        // Jackson reads blank text as "missing" where Python's json.loads fails
        return parsed.isMissingNode() ? new LinkedHashMap<>() : plain(parsed);
      } catch (JsonProcessingException e) {
        return new LinkedHashMap<>();
      }
    }
    if (arguments != null && (arguments.isObject() || arguments.isArray())) {
      return plain(arguments);
    }
    return new LinkedHashMap<>();
  }

  private static boolean present(JsonNode node) {
    return node != null && !node.isNull() && !node.isMissingNode();
  }

  /** JSON as the maps, lists, strings, numbers and booleans a template works on. */
  static Object plain(JsonNode node) {
    return !present(node) ? null : JSON.convertValue(node, Object.class);
  }
}
