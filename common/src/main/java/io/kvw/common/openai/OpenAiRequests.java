package io.kvw.common.openai;

import static io.kvw.common.RequestCodec.kind;
import static io.kvw.common.RequestCodec.present;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvw.common.Decoded;
import io.kvw.common.RequestCodec;
import java.util.Iterator;
import java.util.Set;

/**
 * Reads a request record that speaks OpenAI: an OpenAI Batch line
 * {@code {"custom_id", "method": "POST", "url", "body"}}, or a bare request body with the
 * header {@value #API_HEADER} naming its endpoint by URL path ({@link OpenAiEndpoint}). The
 * body's fields are mapped onto the worker's request ({@link GenerationBody},
 * {@link EmbeddingsBody}); a field the worker cannot honour refuses the record, naming it.
 * Every decision carries an {@link OpenAiCall}, so the result (or error result) is written as
 * an OpenAI Batch output line.
 */
public final class OpenAiRequests {
  /** The record header naming the OpenAI endpoint of a bare body, e.g. /v1/completions. */
  public static final String API_HEADER = "kvw.api";
  private static final int MAX_ID_CHARS = 256;
  private static final Set<String> LINE_FIELDS = Set.of("custom_id", "method", "url", "body");

  private final RequestCodec codec;
  private final GenerationBody generation;
  private final EmbeddingsBody embeddings = new EmbeddingsBody();

  public OpenAiRequests(RequestCodec codec) {
    this.codec = codec;
    this.generation = new GenerationBody();
  }

  /** Whether a record value is an OpenAI Batch line: an object with {@code url} and {@code body}. */
  public static boolean isBatchLine(JsonNode root) {
    return root.isObject() && root.has("url") && root.has("body");
  }

  /**
   * Decodes an OpenAI record.
   *
   * @param apiHeader the {@value #API_HEADER} header's value, or null
   * @param defaultId the record's default request id
   */
  public Decoded decode(JsonNode root, String apiHeader, String defaultId, long timestampMs) {
    if (isBatchLine(root)) {
      return batchLine((ObjectNode) root, apiHeader, defaultId, timestampMs);
    }
    OpenAiEndpoint endpoint = OpenAiEndpoint.ofPath(apiHeader);
    if (endpoint == null) {
      return new Decoded.Rejected(defaultId, null, "the " + API_HEADER + " header must name an "
          + "OpenAI endpoint: " + OpenAiEndpoint.paths());
    }
    if (!root.isObject()) {
      return new Decoded.Rejected(defaultId, null, "the body must be a JSON object, got "
          + kind(root), OpenAiCall.unreadable(defaultId));
    }
    String id = defaultId;
    JsonNode requestId = present(root.get("request_id"));
    if (requestId != null) {
      if (!requestId.isTextual() || requestId.textValue().isEmpty()
          || requestId.textValue().length() > MAX_ID_CHARS) {
        return new Decoded.Rejected(defaultId, null, "request_id must be a string of 1 to "
            + MAX_ID_CHARS + " characters", OpenAiCall.unreadable(defaultId));
      }
      id = requestId.textValue();
    }
    return body(endpoint, (ObjectNode) root, id, timestampMs);
  }

  private Decoded batchLine(ObjectNode line, String apiHeader, String defaultId,
      long timestampMs) {
    JsonNode customId = present(line.get("custom_id"));
    if (customId == null || !customId.isTextual() || customId.textValue().isEmpty()
        || customId.textValue().length() > MAX_ID_CHARS) {
      return new Decoded.Rejected(defaultId, null, "custom_id must be a string of 1 to "
          + MAX_ID_CHARS + " characters (an OpenAI Batch line needs one)",
          OpenAiCall.unreadable(defaultId));
    }
    String id = customId.textValue();
    OpenAiCall unreadable = OpenAiCall.unreadable(id);
    for (Iterator<String> names = line.fieldNames(); names.hasNext(); ) {
      String name = names.next();
      if (!LINE_FIELDS.contains(name)) {
        return new Decoded.Rejected(id, null, name + " is not a field of an OpenAI Batch line "
            + "(custom_id, method, url, body)", unreadable);
      }
    }
    JsonNode method = present(line.get("method"));
    if (method != null && !(method.isTextual() && method.textValue().equals("POST"))) {
      return new Decoded.Rejected(id, null, "method must be POST", unreadable);
    }
    JsonNode url = line.get("url");
    OpenAiEndpoint endpoint = url.isTextual() ? OpenAiEndpoint.ofPath(url.textValue()) : null;
    if (endpoint == null) {
      return new Decoded.Rejected(id, null, "url must be " + OpenAiEndpoint.paths(),
          unreadable);
    }
    if (apiHeader != null && !apiHeader.equals(endpoint.path())) {
      return new Decoded.Rejected(id, null, "url " + endpoint.path() + " differs from the "
          + API_HEADER + " header " + apiHeader, unreadable);
    }
    JsonNode body = line.get("body");
    if (!body.isObject()) {
      return new Decoded.Rejected(id, null, "body must be a JSON object, got " + kind(body),
          new OpenAiCall(endpoint, id, false, false));
    }
    if (present(body.get("request_id")) != null) {
      return new Decoded.Rejected(id, null, "request_id is not accepted in a Batch line's body: "
          + "its custom_id is the request id", new OpenAiCall(endpoint, id, false, false));
    }
    return body(endpoint, (ObjectNode) body, id, timestampMs);
  }

  private Decoded body(OpenAiEndpoint endpoint, ObjectNode body, String id, long timestampMs) {
    TranslatedBody t = endpoint == OpenAiEndpoint.EMBEDDINGS ? embeddings.translate(body, id)
        : generation.translate(endpoint, body, id);
    if (t.refusal() != null) {
      return new Decoded.Rejected(id, t.metadata(), t.refusal(), t.call());
    }
    Decoded decoded = codec.decodeTree(t.request(), id, timestampMs);
    if (decoded instanceof Decoded.Accepted a) {
      return new Decoded.Accepted(a.request().withOpenAi(t.call()));
    }
    Decoded.Rejected r = (Decoded.Rejected) decoded;
    // the body's sampling fields sit at its top level, not under params
    return new Decoded.Rejected(r.id(), r.metadata(), r.message().replace("params.", ""),
        t.call());
  }
}
