package io.kvw.common;

/**
 * Limits that keep one hostile record from exhausting the worker's memory or time. The record
 * size is checked before anything is parsed; the others are enforced while parsing.
 *
 * @param maxRecordBytes largest record value; larger ones are refused unparsed
 * @param maxNestingDepth deepest JSON nesting (objects and arrays)
 * @param maxStringChars longest JSON string (the prompt included)
 * @param maxMessages most chat messages in one request
 * @param maxStopSequences most stop strings
 * @param maxSamples largest {@code n}
 * @param maxTokens largest {@code max_tokens}
 */
public record RequestLimits(int maxRecordBytes, int maxNestingDepth, int maxStringChars,
    int maxMessages, int maxStopSequences, int maxSamples, int maxTokens) {

  /**
   * 1 MiB per record (Kafka's default message size, so anything larger is already unusual);
   * nesting 32 (a request needs 4 levels, a JSON schema rarely more than 10); strings up to
   * the record size; 1,024 chat messages; 16 stop strings and 16 samples; 1,000,000 tokens.
   */
  public static RequestLimits defaults() {
    return new RequestLimits(1024 * 1024, 32, 1024 * 1024, 1024, 16, 16, 1_000_000);
  }

  public RequestLimits withMaxRecordBytes(int bytes) {
    return new RequestLimits(bytes, maxNestingDepth, Math.min(maxStringChars, bytes),
        maxMessages, maxStopSequences, maxSamples, maxTokens);
  }
}
