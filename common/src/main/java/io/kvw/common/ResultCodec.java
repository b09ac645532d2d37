package io.kvw.common;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes results, error results and partial outputs as CONTRACT.md's JSON, and reads results
 * back (for clients and tests). Thread-safe.
 *
 * <p>Results are written field by field with a streaming generator: it is on the hot path and
 * keeps the field order of the contract.
 */
public final class ResultCodec {
  /** A buffer larger than this (a long text, many embeddings) is not kept for the next one. */
  private static final int KEPT_BUFFER_BYTES = 16 * 1024;

  private final ObjectMapper mapper = new ObjectMapper();
  private final JsonFactory factory = mapper.getFactory();
  /**
   * One output buffer per encoding thread, reused: a result is encoded once per record, and a
   * new buffer grown to the result's size cost more allocation than the bytes returned.
   */
  private final ThreadLocal<ByteArrayOutputStream> buffers =
      ThreadLocal.withInitial(() -> new ByteArrayOutputStream(1024));

  public byte[] encode(InferenceResult r) {
    ByteArrayOutputStream out = buffers.get();
    out.reset();
    try (JsonGenerator g = factory.createGenerator(out)) {
      g.setCodec(mapper);
      g.writeStartObject();
      g.writeStringField("id", r.id());
      if (r.model() != null) {
        g.writeStringField("model", r.model());
      }
      if (r.isError()) {
        g.writeObjectFieldStart("error");
        g.writeStringField("type", r.error().type().wireName());
        g.writeStringField("message", r.error().message());
        g.writeEndObject();
      } else if (r.isEmbedding()) {
        writeEmbeddings(g, r.embeddings());
        writeUsageAndTiming(g, r);
      } else {
        g.writeStringField("text", r.text());
        g.writeArrayFieldStart("outputs");
        for (Output o : r.outputs()) {
          g.writeStartObject();
          g.writeNumberField("index", o.index());
          g.writeStringField("text", o.text());
          g.writeStringField("finish_reason", o.finishReason());
          writeMatchedStop(g, o.matchedStop());
          if (o.logprobs() != null) {
            g.writeObjectFieldStart("logprobs");
            writeLogprobs(g, "content", o.logprobs());
            g.writeEndObject();
          }
          g.writeEndObject();
        }
        g.writeEndArray();
        if (r.promptLogprobs() != null) {
          writeLogprobs(g, "prompt_logprobs", r.promptLogprobs());
        }
        writeUsageAndTiming(g, r);
      }
      g.writeNumberField("attempts", r.attempts());
      if (r.metadata() != null) {
        g.writeFieldName("metadata");
        g.writeTree(r.metadata());
      }
      if (r.source() != null) {
        g.writeObjectFieldStart("source");
        g.writeStringField("topic", r.source().topic());
        g.writeNumberField("partition", r.source().partition());
        g.writeNumberField("offset", r.source().offset());
        g.writeEndObject();
      }
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    byte[] bytes = out.toByteArray();
    if (bytes.length > KEPT_BUFFER_BYTES) {
      buffers.remove();
    }
    return bytes;
  }

  private static void writeUsageAndTiming(JsonGenerator g, InferenceResult r)
      throws IOException {
    if (r.usage() != null) {
      g.writeObjectFieldStart("usage");
      g.writeNumberField("prompt_tokens", r.usage().promptTokens());
      g.writeNumberField("completion_tokens", r.usage().completionTokens());
      g.writeNumberField("cached_tokens", r.usage().cachedTokens());
      g.writeEndObject();
    }
    if (r.timing() != null) {
      g.writeObjectFieldStart("timing");
      g.writeNumberField("queue_ms", r.timing().queueMs());
      g.writeNumberField("ttft_ms", r.timing().ttftMs());
      g.writeNumberField("backend_ms", r.timing().backendMs());
      g.writeNumberField("total_ms", r.timing().totalMs());
      g.writeEndObject();
    }
  }

  /** {@code "embeddings": [{"index": i, "embedding": [floats]}]}, in input order. */
  private static void writeEmbeddings(JsonGenerator g, List<Embedding> embeddings)
      throws IOException {
    g.writeArrayFieldStart("embeddings");
    for (Embedding e : embeddings) {
      g.writeStartObject();
      g.writeNumberField("index", e.index());
      g.writeArrayFieldStart("embedding");
      for (float v : e.vector()) {
        g.writeNumber(v);
      }
      g.writeEndArray();
      g.writeEndObject();
    }
    g.writeEndArray();
  }

  /**
   * The embeddings of a result. The record carries no per-input token counts (only the sum
   * in {@code usage}), so each read-back embedding has {@code promptTokens} 0.
   */
  private static List<Embedding> readEmbeddings(JsonNode array) {
    List<Embedding> out = new ArrayList<>(array.size());
    for (JsonNode e : array) {
      JsonNode values = e.path("embedding");
      float[] vector = new float[values.size()];
      for (int i = 0; i < vector.length; i++) {
        vector[i] = values.get(i).floatValue();
      }
      out.add(new Embedding(e.path("index").asInt(), vector, 0));
    }
    return out;
  }

  private static void writeMatchedStop(JsonGenerator g, MatchedStop m) throws IOException {
    if (m == null) {
      g.writeNullField("matched_stop");
    } else if (m.tokenId() != null) {
      g.writeNumberField("matched_stop", m.tokenId());
    } else {
      g.writeStringField("matched_stop", m.text());
    }
  }

  /** OpenAI's chat {@code logprobs.content} entries; a null entry is written as null. */
  private static void writeLogprobs(JsonGenerator g, String field, List<TokenLogprob> entries)
      throws IOException {
    g.writeArrayFieldStart(field);
    for (TokenLogprob t : entries) {
      if (t == null) {
        g.writeNull();
        continue;
      }
      writeToken(g, t);
      g.writeArrayFieldStart("top_logprobs");
      for (TokenLogprob alt : t.topLogprobs()) {
        writeToken(g, alt);
        g.writeEndObject();
      }
      g.writeEndArray();
      g.writeEndObject();
    }
    g.writeEndArray();
  }

  /** Opens a token's object and writes token, logprob and bytes; the caller closes it. */
  private static void writeToken(JsonGenerator g, TokenLogprob t) throws IOException {
    g.writeStartObject();
    g.writeStringField("token", t.token());
    g.writeNumberField("logprob", t.logprob());
    g.writeArrayFieldStart("bytes");
    for (byte b : t.bytes()) {
      g.writeNumber(b & 0xFF);
    }
    g.writeEndArray();
  }

  private static List<TokenLogprob> readLogprobs(JsonNode array) {
    if (array == null || !array.isArray()) {
      return null;
    }
    List<TokenLogprob> out = new ArrayList<>(array.size());
    for (JsonNode t : array) {
      if (t.isNull()) {
        out.add(null);
        continue;
      }
      List<TokenLogprob> top = new ArrayList<>();
      for (JsonNode alt : t.path("top_logprobs")) {
        top.add(new TokenLogprob(alt.path("token").asText(), (float) alt.path("logprob")
            .asDouble(), null));
      }
      out.add(new TokenLogprob(t.path("token").asText(), (float) t.path("logprob").asDouble(),
          top));
    }
    return out;
  }

  private static MatchedStop readMatchedStop(JsonNode m) {
    if (m == null || m.isNull()) {
      return null;
    }
    return m.isIntegralNumber() ? MatchedStop.token(m.intValue()) : MatchedStop.string(
        m.asText());
  }

  /**
   * A partial output for the stream topic: {@code {"id", "index", "text",
   * "completion_tokens"}}, where {@code text} is all the text of sample {@code index} so far.
   */
  public byte[] encodePartial(String id, int index, String textSoFar, int completionTokens) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(128);
    try (JsonGenerator g = factory.createGenerator(out)) {
      g.writeStartObject();
      g.writeStringField("id", id);
      g.writeNumberField("index", index);
      g.writeStringField("text", textSoFar);
      g.writeNumberField("completion_tokens", completionTokens);
      g.writeEndObject();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** Reads a result or an error result. */
  public InferenceResult decode(byte[] json) {
    JsonNode n;
    try {
      n = mapper.readTree(json);
    } catch (IOException e) {
      throw new IllegalArgumentException("not a result: " + e.getMessage(), e);
    }
    JsonNode src = n.get("source");
    RecordSource source = src == null ? null : new RecordSource(src.path("topic").asText(),
        src.path("partition").asInt(), src.path("offset").asLong());
    JsonNode metadata = n.get("metadata");
    String model = n.hasNonNull("model") ? n.get("model").asText() : null;
    int attempts = n.path("attempts").asInt();
    if (n.has("error")) {
      JsonNode e = n.get("error");
      return InferenceResult.failure(n.path("id").asText(), model, new ErrorInfo(
          ErrorType.fromWireName(e.path("type").asText()), e.path("message").asText()),
          attempts, metadata, source);
    }
    JsonNode u = n.path("usage");
    JsonNode t = n.path("timing");
    Usage usage = new Usage(u.path("prompt_tokens").asInt(),
        u.path("completion_tokens").asInt(), u.path("cached_tokens").asInt());
    Timing timing = new Timing(t.path("queue_ms").asLong(), t.path("ttft_ms").asLong(),
        t.path("backend_ms").asLong(), t.path("total_ms").asLong());
    if (n.has("embeddings")) {
      return InferenceResult.embedded(n.path("id").asText(), model,
          readEmbeddings(n.get("embeddings")), usage, timing, attempts, metadata, source);
    }
    List<Output> outputs = new ArrayList<>();
    for (JsonNode o : n.path("outputs")) {
      outputs.add(new Output(o.path("index").asInt(), o.path("text").asText(),
          o.path("finish_reason").asText(), readMatchedStop(o.get("matched_stop")),
          readLogprobs(o.path("logprobs").get("content"))));
    }
    return InferenceResult.success(n.path("id").asText(), model, outputs, usage, timing,
        attempts, metadata, source, readLogprobs(n.get("prompt_logprobs")));
  }
}
