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
 * @param maxEmbeddingInputs most inputs in one embedding request
 */
public record RequestLimits(int maxRecordBytes, int maxNestingDepth, int maxStringChars,
    int maxMessages, int maxStopSequences, int maxSamples, int maxTokens,
    int maxEmbeddingInputs) {

  /** OpenAI's and vLLM's limit on the inputs of one embeddings request. */
  public static final int DEFAULT_MAX_EMBEDDING_INPUTS = 2048;

  /** Limits with the default bound on embedding inputs. */
  public RequestLimits(int maxRecordBytes, int maxNestingDepth, int maxStringChars,
      int maxMessages, int maxStopSequences, int maxSamples, int maxTokens) {
    this(maxRecordBytes, maxNestingDepth, maxStringChars, maxMessages, maxStopSequences,
        maxSamples, maxTokens, DEFAULT_MAX_EMBEDDING_INPUTS);
  }

  /**
   * 1 MiB per record (Kafka's default message size, so anything larger is already unusual);
   * nesting 32 (a request needs 4 levels, a JSON schema rarely more than 10); strings up to
   * the record size; 1,024 chat messages; 16 stop strings and 16 samples; 1,000,000 tokens;
   * 2,048 embedding inputs (OpenAI's and vLLM's limit).
   */
  public static RequestLimits defaults() {
    return new RequestLimits(1024 * 1024, 32, 1024 * 1024, 1024, 16, 16, 1_000_000);
  }

  public RequestLimits withMaxRecordBytes(int bytes) {
    return new RequestLimits(bytes, maxNestingDepth, Math.min(maxStringChars, bytes),
        maxMessages, maxStopSequences, maxSamples, maxTokens, maxEmbeddingInputs);
  }
}
