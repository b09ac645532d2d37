package io.kvw.common.openai;

import static io.kvw.common.RequestCodec.describe;
import static io.kvw.common.RequestCodec.kind;
import static io.kvw.common.RequestCodec.present;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvw.common.Decoded;
import io.kvw.common.EmbeddingInput;
import io.kvw.common.EmbeddingRequest;
import io.kvw.common.InferenceRequest;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * Maps an Embeddings body onto an embedding request: {@code input} as a string, a list of
 * strings, a list of token ids or a list of such lists; {@code encoding_format} float or
 * base64; {@code dimensions}; {@code model}. {@code user} is bookkeeping; vLLM's
 * {@code add_special_tokens} and {@code priority} are accepted at their defaults; any other
 * field is refused by name.
 */
final class EmbeddingsBody {
  /** OpenAI's limit on inputs per request. */
  static final int MAX_INPUTS = 2048;

  Decoded decode(ObjectNode body, String id) {
    boolean base64 = "base64".equals(body.path("encoding_format").asText(null));
    OpenAiCall call = new OpenAiCall(OpenAiEndpoint.EMBEDDINGS, id, false, base64);
    try {
      for (Iterator<Map.Entry<String, JsonNode>> it = body.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> f = it.next();
        JsonNode v = f.getValue();
        switch (f.getKey()) {
          case "model", "input", "encoding_format", "dimensions", "user", "request_id" -> { }
          case "add_special_tokens" -> requireDefault(f.getKey(), v, true);
          case "priority" -> {
            if (!v.isNull() && !(v.isNumber() && v.doubleValue() == 0)) {
              throw new Invalid("priority: only 0 is supported, got " + describe(v));
            }
          }
          default -> {
            if (!v.isNull()) {
              throw new Invalid(f.getKey() + " is not supported by this worker");
            }
          }
        }
      }
      JsonNode model = present(body.get("model"));
      if (model != null && (!model.isTextual() || model.textValue().isEmpty())) {
        throw new Invalid("model must be a non-empty string");
      }
      JsonNode format = present(body.get("encoding_format"));
      if (format != null && !(format.isTextual() && (format.textValue().equals("float")
          || format.textValue().equals("base64")))) {
        throw new Invalid("encoding_format must be float or base64");
      }
      Integer dimensions = null;
      JsonNode dims = present(body.get("dimensions"));
      if (dims != null) {
        if (!dims.isIntegralNumber() || !dims.canConvertToInt() || dims.intValue() < 1) {
          throw new Invalid("dimensions must be a whole number from 1, got " + describe(dims));
        }
        dimensions = dims.intValue();
      }
      EmbeddingRequest embedding = new EmbeddingRequest(inputs(body.get("input")), dimensions);
      return new Decoded.Accepted(InferenceRequest.embedding(id,
          model == null ? null : model.textValue(), embedding, null, null).withOpenAi(call));
    } catch (Invalid e) {
      return new Decoded.Rejected(id, null, e.getMessage(), call);
    }
  }

  private static List<EmbeddingInput> inputs(JsonNode input) throws Invalid {
    input = present(input);
    if (input == null) {
      throw new Invalid("input is required");
    }
    if (input.isTextual()) {
      return List.of(text(input, "input"));
    }
    if (!input.isArray() || input.isEmpty()) {
      throw new Invalid("input must be a string or a non-empty list of strings or token ids, "
          + "got " + (input.isArray() ? "an empty list" : kind(input)));
    }
    if (input.size() > MAX_INPUTS) {
      throw new Invalid("input has " + input.size() + " entries, over the limit of "
          + MAX_INPUTS);
    }
    if (input.get(0).isNumber()) {
      return List.of(tokens(input, "input"));
    }
    List<EmbeddingInput> out = new ArrayList<>(input.size());
    for (int i = 0; i < input.size(); i++) {
      JsonNode one = input.get(i);
      String at = "input[" + i + "]";
      out.add(one.isArray() ? tokens(one, at) : text(one, at));
    }
    return out;
  }

  private static EmbeddingInput text(JsonNode v, String at) throws Invalid {
    if (!v.isTextual() || v.textValue().isEmpty()) {
      throw new Invalid(at + " must be a non-empty string or a list of token ids");
    }
    return EmbeddingInput.ofText(v.textValue());
  }

  private static EmbeddingInput tokens(JsonNode v, String at) throws Invalid {
    if (v.isEmpty()) {
      throw new Invalid(at + " must not be an empty list of token ids");
    }
    int[] ids = new int[v.size()];
    for (int i = 0; i < ids.length; i++) {
      JsonNode t = v.get(i);
      if (!t.isIntegralNumber() || !t.canConvertToInt() || t.intValue() < 0) {
        throw new Invalid(at + " must hold token ids (whole numbers from 0), got "
            + describe(t));
      }
      ids[i] = t.intValue();
    }
    return EmbeddingInput.ofTokens(ids);
  }

  private static void requireDefault(String name, JsonNode v, boolean fixed) throws Invalid {
    if (!v.isNull() && !(v.isBoolean() && v.booleanValue() == fixed)) {
      throw new Invalid(name + ": only " + fixed + " is supported, got " + describe(v));
    }
  }

  private static final class Invalid extends Exception {
    Invalid(String message) {
      super(message, null, false, false);
    }
  }
}
