package io.kvw.common;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * One turn of a chat request, rendered with the model's chat template before generation.
 *
 * <p>{@code message} is the JSON object the user sent: {@code role}, {@code content} (a string,
 * a list of parts such as {@code [{"type":"text","text":"..."}]}, or null next to
 * {@code tool_calls}), and whichever other OpenAI message fields were given ({@code name},
 * {@code tool_calls}, {@code tool_call_id}, {@code reasoning}...). {@link RequestCodec}
 * validated it; the worker prepares it for the chat template as vLLM's server does.
 *
 * @param role the message's role, also found in {@code message}
 * @param message the message object as sent; never null
 */
public record ChatMessage(String role, JsonNode message) {

  /** A plain {@code {"role": role, "content": content}} message. */
  public ChatMessage(String role, String content) {
    this(role, plain(role, content));
  }

  private static ObjectNode plain(String role, String content) {
    ObjectNode m = JsonNodeFactory.instance.objectNode();
    m.put("role", role);
    m.put("content", content);
    return m;
  }
}
