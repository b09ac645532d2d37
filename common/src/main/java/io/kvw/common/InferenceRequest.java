package io.kvw.common;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvw.common.openai.OpenAiCall;
import java.time.Instant;
import java.util.List;

/**
 * A validated request (CONTRACT.md, "Request"). Exactly one of {@code prompt},
 * {@code messages} and {@code embedding} is non-null. Built only by {@link RequestCodec}; nothing past admission
 * sees raw JSON.
 *
 * @param id the request id; {@code <topic>-<partition>-<offset>} when the record has none
 * @param model the requested model, or null for the worker's default
 * @param prompt a plain prompt, or null
 * @param messages a chat conversation, or null
 * @param params sampling parameters; never null (all fields null means vLLM's defaults)
 * @param deadline the instant past which the request must not be sent, or null
 * @param stream whether partial outputs go to the stream topic
 * @param metadata a JSON object echoed verbatim in the result, or null
 * @param chat what the chat template gets besides {@code messages}; never null
 *     ({@link ChatOptions#NONE} for a plain prompt)
 * @param embedding what to embed, for an embedding model; null for a generation request
 * @param openAi the OpenAI call this request came as (its result is written in OpenAI's
 *     shape), or null for CONTRACT.md's request
 */
public record InferenceRequest(
    String id,
    String model,
    String prompt,
    List<ChatMessage> messages,
    SamplingParams params,
    Instant deadline,
    boolean stream,
    JsonNode metadata,
    ChatOptions chat,
    EmbeddingRequest embedding,
    OpenAiCall openAi) {

  /** A request in CONTRACT.md's shape. */
  public InferenceRequest(String id, String model, String prompt, List<ChatMessage> messages,
      SamplingParams params, Instant deadline, boolean stream, JsonNode metadata,
      ChatOptions chat, EmbeddingRequest embedding) {
    this(id, model, prompt, messages, params, deadline, stream, metadata, chat, embedding,
        null);
  }

  /** This request, answered in the shape of the OpenAI call {@code call}. */
  public InferenceRequest withOpenAi(OpenAiCall call) {
    return new InferenceRequest(id, model, prompt, messages, params, deadline, stream, metadata,
        chat, embedding, call);
  }

  /** A generation request. */
  public InferenceRequest(String id, String model, String prompt, List<ChatMessage> messages,
      SamplingParams params, Instant deadline, boolean stream, JsonNode metadata,
      ChatOptions chat) {
    this(id, model, prompt, messages, params, deadline, stream, metadata, chat, null);
  }

  /** An embedding request. */
  public static InferenceRequest embedding(String id, String model, EmbeddingRequest embedding,
      Instant deadline, JsonNode metadata) {
    return new InferenceRequest(id, model, null, null, SamplingParams.DEFAULTS, deadline, false,
        metadata, ChatOptions.NONE, embedding);
  }

  public boolean isEmbedding() {
    return embedding != null;
  }

  /** A request without chat template options. */
  public InferenceRequest(String id, String model, String prompt, List<ChatMessage> messages,
      SamplingParams params, Instant deadline, boolean stream, JsonNode metadata) {
    this(id, model, prompt, messages, params, deadline, stream, metadata, ChatOptions.NONE);
  }
}
