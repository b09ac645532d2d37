package io.kvw.common;

/**
 * What ended a sample with finish reason "stop": one of the request's stop strings, or a stop
 * token id (vLLM's {@code stop_reason}). Exactly one of the two is set.
 */
public record MatchedStop(String text, Integer tokenId) {

  public MatchedStop {
    if ((text == null) == (tokenId == null)) {
      throw new IllegalArgumentException("a matched stop is a string or a token id");
    }
  }

  public static MatchedStop string(String text) {
    return new MatchedStop(text, null);
  }

  public static MatchedStop token(int tokenId) {
    return new MatchedStop(null, tokenId);
  }
}
