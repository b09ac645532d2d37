package io.kvw.common;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What a chat request gives its model's chat template besides the messages; each is null
 * when the request did not set it.
 *
 * @param templateKwargs {@code chat_template_kwargs}: a JSON object whose entries become
 *     template variables (e.g. {@code {"enable_thinking": false}})
 * @param tools {@code tools}: a JSON array of objects, the template's {@code tools}
 * @param documents {@code documents}: a JSON array of objects, the template's
 *     {@code documents}
 */
public record ChatOptions(JsonNode templateKwargs, JsonNode tools, JsonNode documents) {
  /** A request that sets none of them. */
  public static final ChatOptions NONE = new ChatOptions(null, null, null);
}
