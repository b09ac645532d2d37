package io.kvw.common;

/** One sample of a result; {@code finishReason} is vLLM's: stop, length or abort. */
public record Output(int index, String text, String finishReason) {}
