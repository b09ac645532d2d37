package io.kvw.common;

import static io.kvw.common.RequestCodec.kind;
import static io.kvw.common.RequestCodec.present;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvw.common.RequestCodec.Invalid;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads the {@code input} and {@code dimensions} of an embedding request in OpenAI's four
 * shapes: a string, a list of strings, a list of token ids, or a list of lists of token ids.
 * Empty strings and empty lists are refused (OpenAI refuses them too), and so are fields that
 * belong to generation.
 */
final class EmbeddingDecoder {
  /** Fields of a generation request; next to {@code input} each is refused by name. */
  private static final List<String> GENERATION_FIELDS = List.of("prompt", "messages", "params",
      "stream", "chat_template_kwargs", "tools", "documents");

  private final RequestLimits limits;

  EmbeddingDecoder(RequestLimits limits) {
    this.limits = limits;
  }

  /** Whether the record is an embedding request: it has an {@code input}. */
  static boolean isEmbedding(JsonNode root) {
    return present(root.get("input")) != null;
  }

  EmbeddingRequest decode(JsonNode root) throws Invalid {
    for (String field : GENERATION_FIELDS) {
      if (present(root.get(field)) != null) {
        throw new Invalid(field + " does not apply to an embedding request (it has input)");
      }
    }
    return new EmbeddingRequest(inputs(root.get("input")), dimensions(root));
  }

  private List<EmbeddingInput> inputs(JsonNode input) throws Invalid {
    if (input.isTextual()) {
      return List.of(text(input, "input"));
    }
    if (!input.isArray()) {
      throw new Invalid("input must be a string, a list of strings, a list of token ids or a "
          + "list of lists of token ids, got " + kind(input));
    }
    if (input.isEmpty()) {
      throw new Invalid("input must not be an empty list");
    }
    JsonNode first = input.get(0);
    if (first.isIntegralNumber()) {
      return List.of(EmbeddingInput.ofTokens(tokenIds(input, "input")));
    }
    if (input.size() > limits.maxEmbeddingInputs()) {
      throw new Invalid("input has " + input.size() + " entries, over the limit of "
          + limits.maxEmbeddingInputs());
    }
    boolean texts = first.isTextual();
    List<EmbeddingInput> out = new ArrayList<>(input.size());
    for (int i = 0; i < input.size(); i++) {
      JsonNode item = input.get(i);
      String at = "input[" + i + "]";
      if (texts) {
        if (!item.isTextual()) {
          throw new Invalid(at + " must be a string like the first entry, got " + kind(item));
        }
        out.add(text(item, at));
      } else if (item.isArray()) {
        out.add(EmbeddingInput.ofTokens(tokenIds(item, at)));
      } else {
        throw new Invalid(at + " must be a string, a token id or a list of token ids, got "
            + kind(item));
      }
    }
    return out;
  }

  private static EmbeddingInput text(JsonNode node, String at) throws Invalid {
    if (node.textValue().isEmpty()) {
      throw new Invalid(at + " must not be an empty string");
    }
    return EmbeddingInput.ofText(node.textValue());
  }

  private static int[] tokenIds(JsonNode list, String at) throws Invalid {
    if (list.isEmpty()) {
      throw new Invalid(at + " must not be an empty list of token ids");
    }
    int[] ids = new int[list.size()];
    for (int i = 0; i < ids.length; i++) {
      JsonNode id = list.get(i);
      if (!id.isIntegralNumber() || !id.canConvertToInt() || id.intValue() < 0) {
        throw new Invalid(at + "[" + i + "] must be a token id (a whole number from 0), got "
            + RequestCodec.describe(id));
      }
      ids[i] = id.intValue();
    }
    return ids;
  }

  private static Integer dimensions(JsonNode root) throws Invalid {
    JsonNode d = present(root.get("dimensions"));
    if (d == null) {
      return null;
    }
    if (!d.isIntegralNumber() || !d.canConvertToInt() || d.intValue() < 1) {
      throw new Invalid("dimensions must be a positive whole number, got "
          + RequestCodec.describe(d));
    }
    return d.intValue();
  }
}
