package io.kvw.common;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.ObjectReader;
import io.kvw.common.openai.OpenAiRequests;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * Decodes and validates request records (CONTRACT.md, "Request"): bytes in, a typed
 * {@link InferenceRequest} or a {@link Decoded.Rejected} naming the broken rule out. Never
 * throws on bad input. Thread-safe; one instance serves the whole worker.
 *
 * <p>Hostile input is bounded by {@link RequestLimits}: an oversized record is refused before
 * it is parsed, and the parser itself caps nesting depth, string length and document size.
 */
public final class RequestCodec {
  private static final Set<String> ROLES = Set.of("system", "user", "assistant", "tool",
      "developer");
  private static final int MAX_ID_CHARS = 256;

  private final RequestLimits limits;
  private final ObjectReader reader;
  private final ParamsDecoder paramsDecoder;
  private final EmbeddingDecoder embeddingDecoder;
  private final OpenAiRequests openAi;

  public RequestCodec(RequestLimits limits) {
    this.limits = limits;
    JsonFactory factory = JsonFactory.builder()
        .streamReadConstraints(StreamReadConstraints.builder()
            .maxNestingDepth(limits.maxNestingDepth())
            .maxStringLength(limits.maxStringChars())
            .maxDocumentLength(limits.maxRecordBytes())
            .maxNumberLength(64)
            .build())
        .build();
    ObjectMapper mapper = new ObjectMapper(factory)
        .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION)
        .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
        .disable(JsonParser.Feature.INCLUDE_SOURCE_IN_LOCATION);
    this.reader = mapper.reader();
    this.paramsDecoder = new ParamsDecoder(limits);
    this.embeddingDecoder = new EmbeddingDecoder(limits);
    this.openAi = new OpenAiRequests(this);
  }

  /** A field broke a rule; carries the message for the error result. */
  static final class Invalid extends Exception {
    Invalid(String message) {
      super(message, null, false, false);
    }
  }

  /**
   * Decodes one record value.
   *
   * @param recordTimestampMs the record's timestamp, the base of {@code ttl_ms}
   */
  public Decoded decode(byte[] value, RecordSource source, long recordTimestampMs) {
    return decode(value, RecordHeaders.NONE, source, recordTimestampMs);
  }

  /**
   * Decodes one record value with its headers: a record that is an OpenAI Batch line, or
   * whose {@link OpenAiRequests#API_HEADER} header names an OpenAI endpoint, is read as an
   * OpenAI request ({@link OpenAiRequests}); any other as CONTRACT.md's request.
   *
   * @param recordTimestampMs the record's timestamp, the base of {@code ttl_ms}
   */
  public Decoded decode(byte[] value, RecordHeaders headers, RecordSource source,
      long recordTimestampMs) {
    String defaultId = source.defaultRequestId();
    if (value == null) {
      return new Decoded.Rejected(defaultId, null, "the record has no value (null)");
    }
    if (value.length == 0) {
      return new Decoded.Rejected(defaultId, null, "the record value is empty");
    }
    if (value.length > limits.maxRecordBytes()) {
      return new Decoded.Rejected(defaultId, null, "the record is " + value.length
          + " bytes, over the limit of " + limits.maxRecordBytes() + " bytes");
    }
    String utf8Problem = checkUtf8(value);
    if (utf8Problem != null) {
      return new Decoded.Rejected(defaultId, null, utf8Problem);
    }
    JsonNode root;
    try {
      root = reader.readTree(value);
    } catch (StreamConstraintsException e) {
      return new Decoded.Rejected(defaultId, null, "the JSON exceeds a parser limit: "
          + shorten(e.getOriginalMessage()));
    } catch (JsonProcessingException e) {
      String where = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr()
          + ", column " + e.getLocation().getColumnNr();
      return new Decoded.Rejected(defaultId, null, "malformed JSON" + where + ": "
          + shorten(e.getOriginalMessage()));
    } catch (IOException e) {
      return new Decoded.Rejected(defaultId, null, "unreadable record: " + e.getMessage());
    }
    if (root == null || root.isMissingNode()) {
      return new Decoded.Rejected(defaultId, null, "the record value is blank");
    }
    String api = headers.lastValue(OpenAiRequests.API_HEADER);
    if (api != null || OpenAiRequests.isBatchLine(root)) {
      return openAi.decode(root, api, defaultId, recordTimestampMs);
    }
    return decodeTree(root, defaultId, recordTimestampMs);
  }

  /**
   * Decodes a request already parsed from JSON (CONTRACT.md's shape; the OpenAI reader
   * translates into it).
   */
  public Decoded decodeTree(JsonNode root, String defaultId, long recordTimestampMs) {
    if (!root.isObject()) {
      return new Decoded.Rejected(defaultId, null, "the record must be a JSON object, got "
          + kind(root));
    }
    JsonNode metadata = root.get("metadata");
    JsonNode echoedMetadata = metadata != null && metadata.isObject() ? metadata : null;
    String id = defaultId;
    try {
      JsonNode idNode = root.get("id");
      if (idNode != null && !idNode.isNull()) {
        if (!idNode.isTextual() || idNode.textValue().isEmpty()
            || idNode.textValue().length() > MAX_ID_CHARS) {
          throw new Invalid("id must be a string of 1 to " + MAX_ID_CHARS + " characters");
        }
        id = idNode.textValue();
      }
      return new Decoded.Accepted(EmbeddingDecoder.isEmbedding(root)
          ? embeddingRequest(root, id, recordTimestampMs)
          : request(root, id, recordTimestampMs));
    } catch (Invalid e) {
      return new Decoded.Rejected(id, echoedMetadata, e.getMessage());
    }
  }

  private InferenceRequest request(JsonNode root, String id, long timestampMs) throws Invalid {
    String model = optionalText(root, "model");
    if (model != null && model.isEmpty()) {
      throw new Invalid("model must not be empty");
    }
    JsonNode promptNode = present(root.get("prompt"));
    JsonNode messagesNode = present(root.get("messages"));
    if (promptNode != null && messagesNode != null) {
      throw new Invalid("give either prompt or messages, not both");
    }
    if (promptNode == null && messagesNode == null) {
      throw new Invalid("prompt or messages is required");
    }
    String prompt = null;
    List<ChatMessage> messages = null;
    ChatOptions chat = chatOptions(root);
    if (promptNode != null && chat != ChatOptions.NONE) {
      throw new Invalid("chat_template_kwargs, tools and documents apply to messages only, "
          + "not to a prompt");
    }
    if (promptNode != null) {
      if (!promptNode.isTextual()) {
        throw new Invalid("prompt must be a string, got " + kind(promptNode));
      }
      if (promptNode.textValue().isEmpty()) {
        throw new Invalid("prompt must not be empty");
      }
      prompt = promptNode.textValue();
    } else {
      messages = messages(messagesNode);
    }
    SamplingParams params = paramsDecoder.decode(present(root.get("params")));
    Instant deadline = deadline(root, timestampMs);
    JsonNode streamNode = present(root.get("stream"));
    if (streamNode != null && !streamNode.isBoolean()) {
      throw new Invalid("stream must be true or false, got " + kind(streamNode));
    }
    JsonNode metadata = present(root.get("metadata"));
    if (metadata != null && !metadata.isObject()) {
      throw new Invalid("metadata must be a JSON object, got " + kind(metadata));
    }
    return new InferenceRequest(id, model, prompt, messages, params, deadline,
        streamNode != null && streamNode.booleanValue(), metadata, chat);
  }

  /** A request with {@code input}: what to embed, plus the fields every request has. */
  private InferenceRequest embeddingRequest(JsonNode root, String id, long timestampMs)
      throws Invalid {
    String model = optionalText(root, "model");
    if (model != null && model.isEmpty()) {
      throw new Invalid("model must not be empty");
    }
    EmbeddingRequest embedding = embeddingDecoder.decode(root);
    Instant deadline = deadline(root, timestampMs);
    JsonNode metadata = present(root.get("metadata"));
    if (metadata != null && !metadata.isObject()) {
      throw new Invalid("metadata must be a JSON object, got " + kind(metadata));
    }
    return InferenceRequest.embedding(id, model, embedding, deadline, metadata);
  }

  private List<ChatMessage> messages(JsonNode node) throws Invalid {
    if (!node.isArray()) {
      throw new Invalid("messages must be an array, got " + kind(node));
    }
    if (node.isEmpty()) {
      throw new Invalid("messages must not be empty");
    }
    if (node.size() > limits.maxMessages()) {
      throw new Invalid("messages has " + node.size() + " entries, over the limit of "
          + limits.maxMessages());
    }
    List<ChatMessage> out = new ArrayList<>(node.size());
    for (int i = 0; i < node.size(); i++) {
      out.add(message(node.get(i), "messages[" + i + "]"));
    }
    return List.copyOf(out);
  }

  /**
   * One message, kept as sent once its fields have the shapes OpenAI's chat API gives them
   * (the worker prepares it for the chat template as vLLM's server does).
   */
  private static ChatMessage message(JsonNode m, String at) throws Invalid {
    if (!m.isObject()) {
      throw new Invalid(at + " must be an object with role and content");
    }
    JsonNode role = m.get("role");
    if (role == null || !role.isTextual() || !ROLES.contains(role.textValue())) {
      throw new Invalid(at + ".role must be one of " + ROLES);
    }
    JsonNode toolCalls = present(m.get("tool_calls"));
    if (toolCalls != null) {
      if (!toolCalls.isArray() || toolCalls.isEmpty()) {
        throw new Invalid(at + ".tool_calls must be a non-empty array of objects");
      }
      for (int j = 0; j < toolCalls.size(); j++) {
        if (!toolCalls.get(j).isObject()) {
          throw new Invalid(at + ".tool_calls[" + j + "] must be an object, got "
              + kind(toolCalls.get(j)));
        }
      }
    }
    JsonNode content = present(m.get("content"));
    if (content == null) {
      if (toolCalls == null) {
        throw new Invalid(at + ".content must be a string or a list of parts (it may be null "
            + "only next to tool_calls)");
      }
    } else if (content.isArray()) {
      parts(content, at + ".content");
    } else if (!content.isTextual()) {
      throw new Invalid(at + ".content must be a string or a list of parts, got "
          + kind(content));
    }
    for (String field : MESSAGE_STRINGS) {
      JsonNode v = present(m.get(field));
      if (v != null && !v.isTextual()) {
        throw new Invalid(at + "." + field + " must be a string, got " + kind(v));
      }
    }
    return new ChatMessage(role.textValue(), m);
  }

  /** Message fields a template may read that OpenAI's API gives as strings. */
  private static final List<String> MESSAGE_STRINGS = List.of("name", "tool_call_id",
      "reasoning", "reasoning_content");

  private static void parts(JsonNode parts, String at) throws Invalid {
    if (parts.isEmpty()) {
      throw new Invalid(at + " must not be an empty list");
    }
    for (int j = 0; j < parts.size(); j++) {
      JsonNode part = parts.get(j);
      String where = at + "[" + j + "]";
      if (!part.isObject() || !part.path("type").isTextual()) {
        throw new Invalid(where + " must be an object with a type, e.g. "
            + "{\"type\": \"text\", \"text\": \"...\"}");
      }
      if ("text".equals(part.get("type").textValue()) && !part.path("text").isTextual()) {
        throw new Invalid(where + ".text must be a string");
      }
    }
  }

  /** chat_template_kwargs, tools and documents; {@link ChatOptions#NONE} when none is set. */
  private static ChatOptions chatOptions(JsonNode root) throws Invalid {
    JsonNode kwargs = present(root.get("chat_template_kwargs"));
    if (kwargs != null) {
      if (!kwargs.isObject()) {
        throw new Invalid("chat_template_kwargs must be a JSON object, got " + kind(kwargs));
      }
      for (String reserved : RESERVED_TEMPLATE_VARIABLES) {
        if (kwargs.has(reserved)) {
          throw new Invalid("chat_template_kwargs." + reserved + " is set by the worker; give "
              + "the request's own fields instead");
        }
      }
    }
    JsonNode tools = objects(root, "tools");
    JsonNode documents = objects(root, "documents");
    if (kwargs == null && tools == null && documents == null) {
      return ChatOptions.NONE;
    }
    return new ChatOptions(kwargs, tools, documents);
  }

  /** The template variables the worker sets itself, which kwargs may not replace. */
  private static final List<String> RESERVED_TEMPLATE_VARIABLES = List.of("messages", "tools",
      "documents", "add_generation_prompt");

  private static JsonNode objects(JsonNode root, String field) throws Invalid {
    JsonNode v = present(root.get(field));
    if (v == null) {
      return null;
    }
    if (!v.isArray()) {
      throw new Invalid(field + " must be an array of objects, got " + kind(v));
    }
    for (int i = 0; i < v.size(); i++) {
      if (!v.get(i).isObject()) {
        throw new Invalid(field + "[" + i + "] must be an object, got " + kind(v.get(i)));
      }
    }
    return v;
  }

  static List<String> strings(JsonNode node, String field, int max) throws Invalid {
    if (!node.isArray()) {
      throw new Invalid(field + " must be an array of strings, got " + kind(node));
    }
    if (node.size() > max) {
      throw new Invalid(field + " has " + node.size() + " entries, over the limit of " + max);
    }
    List<String> out = new ArrayList<>(node.size());
    for (JsonNode s : node) {
      if (!s.isTextual()) {
        throw new Invalid(field + " must contain only strings, got " + kind(s));
      }
      out.add(s.textValue());
    }
    return List.copyOf(out);
  }

  private static Instant deadline(JsonNode root, long timestampMs) throws Invalid {
    Instant deadline = null;
    JsonNode ttl = present(root.get("ttl_ms"));
    if (ttl != null) {
      if (!ttl.isIntegralNumber() || !ttl.canConvertToLong() || ttl.longValue() <= 0) {
        throw new Invalid("ttl_ms must be a positive whole number of milliseconds");
      }
      long base = timestampMs >= 0 ? timestampMs : System.currentTimeMillis();
      deadline = Instant.ofEpochMilli(base).plusMillis(Math.min(ttl.longValue(),
          Long.MAX_VALUE / 4));
    }
    JsonNode at = present(root.get("deadline"));
    if (at != null) {
      if (!at.isTextual()) {
        throw new Invalid("deadline must be an RFC 3339 string, e.g. 2026-01-31T12:00:00Z");
      }
      Instant parsed;
      try {
        parsed = OffsetDateTime.parse(at.textValue()).toInstant();
      } catch (DateTimeParseException e) {
        throw new Invalid("deadline must be an RFC 3339 instant, e.g. 2026-01-31T12:00:00Z");
      }
      deadline = deadline == null || parsed.isBefore(deadline) ? parsed : deadline;
    }
    return deadline;
  }

  static Integer integer(JsonNode p, String name, long min, long max) throws Invalid {
    JsonNode v = present(p.get(name));
    if (v == null) {
      return null;
    }
    if (!v.isIntegralNumber() || !v.canConvertToLong() || v.longValue() < min
        || v.longValue() > max) {
      throw new Invalid("params." + name + " must be a whole number from " + min + " to "
          + max + ", got " + describe(v));
    }
    return v.intValue();
  }

  static Double number(JsonNode p, String name, double min, double max,
      boolean minInclusive, boolean maxInclusive) throws Invalid {
    JsonNode v = present(p.get(name));
    if (v == null) {
      return null;
    }
    double d = v.isNumber() ? v.doubleValue() : Double.NaN;
    boolean ok = v.isNumber() && Double.isFinite(d)
        && (minInclusive ? d >= min : d > min) && (maxInclusive ? d <= max : d < max);
    if (!ok) {
      String range = (minInclusive ? "[" : "(") + fmt(min) + ", "
          + (max == Double.MAX_VALUE ? "∞)" : fmt(max) + (maxInclusive ? "]" : ")"));
      throw new Invalid("params." + name + " must be a number in " + range + ", got "
          + describe(v));
    }
    return d;
  }

  static Boolean bool(JsonNode p, String name) throws Invalid {
    JsonNode v = present(p.get(name));
    if (v == null) {
      return null;
    }
    if (!v.isBoolean()) {
      throw new Invalid("params." + name + " must be true or false, got " + describe(v));
    }
    return v.booleanValue();
  }

  static String optionalText(JsonNode o, String name) throws Invalid {
    return optionalText(o, name, name);
  }

  static String optionalText(JsonNode o, String name, String label) throws Invalid {
    JsonNode v = present(o.get(name));
    if (v == null) {
      return null;
    }
    if (!v.isTextual()) {
      throw new Invalid(label + " must be a string, got " + kind(v));
    }
    return v.textValue();
  }

  /** A JSON null counts as absent. */
  public static JsonNode present(JsonNode n) {
    return n == null || n.isNull() ? null : n;
  }

  /** How a JSON value is named in error messages ("a string", "an array"...). */
  public static String kind(JsonNode n) {
    return switch (n.getNodeType()) {
      case ARRAY -> "an array";
      case OBJECT -> "an object";
      case STRING -> "a string";
      case NUMBER -> "a number";
      case BOOLEAN -> "a boolean";
      case NULL -> "null";
      default -> n.getNodeType().toString().toLowerCase();
    };
  }

  /** Numbers and booleans are shown; strings only by their kind (they may be user text). */
  public static String describe(JsonNode v) {
    return v.isNumber() || v.isBoolean() ? v.toString() : kind(v);
  }

  private static String fmt(double d) {
    return d == Math.rint(d) ? Long.toString((long) d) : Double.toString(d);
  }

  private static String shorten(String s) {
    if (s == null) {
      return "";
    }
    String oneLine = s.replaceAll("\\s+", " ");
    return oneLine.length() <= 120 ? oneLine : oneLine.substring(0, 120) + "…";
  }

  /** Strict UTF-8: no overlong forms, no surrogates, no truncated sequences. */
  private static String checkUtf8(byte[] value) {
    if (isAscii(value)) {
      return null; // most records: no decoder, and no copy of the record in chars
    }
    CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
        .onMalformedInput(CodingErrorAction.REPORT)
        .onUnmappableCharacter(CodingErrorAction.REPORT);
    ByteBuffer in = ByteBuffer.wrap(value);
    try {
      decoder.decode(in);
      return null;
    } catch (CharacterCodingException e) {
      return "the record is not valid UTF-8 (bad byte sequence near byte " + in.position()
          + ")";
    }
  }

  private static boolean isAscii(byte[] value) {
    for (byte b : value) {
      if (b < 0) {
        return false;
      }
    }
    return true;
  }
}
