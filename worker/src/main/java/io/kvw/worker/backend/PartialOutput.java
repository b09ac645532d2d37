package io.kvw.worker.backend;

/**
 * Text decoded so far for one sample of a streaming request.
 *
 * @param index the sample (0 unless {@code n > 1})
 * @param textSoFar all text of this sample decoded up to now
 * @param completionTokens tokens generated so far for this sample
 */
public record PartialOutput(int index, String textSoFar, int completionTokens) {}
