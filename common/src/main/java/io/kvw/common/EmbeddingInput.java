package io.kvw.common;

/**
 * One input of an embedding request: text the worker tokenizes, or token ids given by the
 * client. Exactly one of the two is non-null.
 */
public record EmbeddingInput(String text, int[] tokenIds) {

  public EmbeddingInput {
    if ((text == null) == (tokenIds == null)) {
      throw new IllegalArgumentException("give exactly one of text and tokenIds");
    }
  }

  public static EmbeddingInput ofText(String text) {
    return new EmbeddingInput(text, null);
  }

  public static EmbeddingInput ofTokens(int[] tokenIds) {
    return new EmbeddingInput(null, tokenIds.clone());
  }
}
