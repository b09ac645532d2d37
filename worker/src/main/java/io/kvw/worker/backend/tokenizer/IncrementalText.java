package io.kvw.worker.backend.tokenizer;

/**
 * The text of a growing token sequence, decoded a few tokens at a time (the method of Hugging
 * Face's {@code DecodeStream} and vLLM's incremental detokenizer). Decoding the whole sequence
 * at every streamed chunk would cost O(n²) for an n-token answer; this decodes a short window:
 * the tokens since the last emitted text plus a few before them as context, so that decoders
 * that look at neighbours (SentencePiece's leading space, byte-level pieces of one character)
 * give the same text as a full decode. A window ending inside a multi-byte character (the
 * replacement character U+FFFD at its end) waits for the next tokens.
 *
 * <p>One per sample; not thread-safe (gRPC delivers a call's messages one at a time).
 */
public final class IncrementalText {
  private final TokenDecoder decoder;
  private final StringBuilder text = new StringBuilder();
  private int prefixOffset;
  private int readOffset;

  public IncrementalText(TokenDecoder decoder) {
    this.decoder = decoder;
  }

  /** The text of {@code ids[0..count)}, which extends the ids of the previous call. */
  public String update(int[] ids, int count) {
    String prefix = decoder.decode(ids, prefixOffset, readOffset);
    String window = decoder.decode(ids, prefixOffset, count);
    if (window.length() > prefix.length() && !window.endsWith("\uFFFD")) {
      if (window.startsWith(prefix)) {
        text.append(window, prefix.length(), window.length());
      } else {
        // the context changed how earlier tokens read: start over from a full decode
        text.setLength(0);
        text.append(decoder.decode(ids, 0, count));
      }
      prefixOffset = readOffset;
      readOffset = count;
    }
    return text.toString();
  }
}
