package io.kvw.common.openai;

/**
 * What the worker must remember of a request that came in OpenAI's shape to answer it in
 * OpenAI's shape: an OpenAI Batch output line for {@code endpoint}.
 *
 * @param endpoint the endpoint the request spoke; null only for a Batch line whose
 *     {@code url} was not one the worker serves (its error result still names the line)
 * @param customId the Batch line's {@code custom_id}, or the request id of a bare body
 * @param logprobs whether the body asked for log probabilities in its output (chat
 *     {@code logprobs: true}, completions {@code logprobs: N})
 * @param base64 whether an embeddings body asked for {@code encoding_format: base64}
 */
public record OpenAiCall(OpenAiEndpoint endpoint, String customId, boolean logprobs,
    boolean base64) {

  /** A call known only by its id: an error result is all it can get. */
  public static OpenAiCall unreadable(String customId) {
    return new OpenAiCall(null, customId, false, false);
  }
}
