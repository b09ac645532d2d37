package io.kvw.common.openai;

import static io.kvw.common.RequestCodec.describe;
import static io.kvw.common.RequestCodec.present;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.Iterator;
import java.util.Map;

/**
 * Maps an Embeddings body onto CONTRACT.md's embedding request ({@code input} in OpenAI's
 * four shapes, {@code dimensions}, {@code model}), which {@code RequestCodec} then validates.
 * {@code encoding_format} (float or base64) shapes the result; {@code user} is bookkeeping;
 * vLLM's {@code add_special_tokens} and {@code priority} are accepted at their defaults; any
 * other field is refused by name.
 */
final class EmbeddingsBody {

  TranslatedBody translate(ObjectNode body, String id) {
    JsonNode format = present(body.get("encoding_format"));
    OpenAiCall call = new OpenAiCall(OpenAiEndpoint.EMBEDDINGS, id, false,
        format != null && "base64".equals(format.asText()));
    ObjectNode request = JsonNodeFactory.instance.objectNode();
    request.put("id", id);
    for (Iterator<Map.Entry<String, JsonNode>> it = body.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      String name = f.getKey();
      JsonNode v = f.getValue();
      if (v.isNull()) {
        continue;
      }
      String refusal = switch (name) {
        case "model", "input", "dimensions" -> {
          request.set(name, v);
          yield null;
        }
        case "user", "request_id" -> null;
        case "encoding_format" -> v.isTextual() && (v.textValue().equals("float")
            || v.textValue().equals("base64")) ? null
            : "encoding_format must be float or base64";
        case "add_special_tokens" -> v.equals(JsonNodeFactory.instance.booleanNode(true))
            ? null : "add_special_tokens: only true is supported, got " + describe(v);
        case "priority" -> v.isNumber() && v.doubleValue() == 0 ? null
            : "priority: only 0 is supported, got " + describe(v);
        default -> name + " is not supported by this worker";
      };
      if (refusal != null) {
        return new TranslatedBody(null, call, refusal, null);
      }
    }
    if (!request.has("input")) {
      return new TranslatedBody(null, call, "input is required", null);
    }
    return new TranslatedBody(request, call, null, null);
  }
}
