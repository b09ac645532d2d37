package io.kvw.common;

/**
 * One embedding of a result, in the order of the request's inputs.
 *
 * @param index the input's position in the request
 * @param vector the embedding as vLLM returned it (cut to the requested dimensions)
 * @param promptTokens how many tokens the model read for this input
 */
public record Embedding(int index, float[] vector, int promptTokens) {}
