package io.kvw.common;

/**
 * Where a request's time went, in milliseconds.
 *
 * @param queueMs from the record's poll to its first backend call
 * @param ttftMs from the last backend call's start to its first token (-1 when unknown)
 * @param backendMs the last backend call's duration
 * @param totalMs from poll to outcome
 */
public record Timing(long queueMs, long ttftMs, long backendMs, long totalMs) {}
