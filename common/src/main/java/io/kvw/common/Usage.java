package io.kvw.common;

/** Token counts reported by the backend, summed over samples for completion tokens. */
public record Usage(int promptTokens, int completionTokens, int cachedTokens) {}
