package io.kvw.common;

import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * The log probability of one token, shaped like an entry of OpenAI's chat
 * {@code logprobs.content}: the token's text, its log probability, its UTF-8 bytes (derived
 * from the text) and, for a chosen token, the most likely alternatives at that position.
 *
 * @param token the token decoded on its own, as vLLM's OpenAI server shows it
 * @param topLogprobs the top alternatives, most likely first; empty for an alternative itself
 */
public record TokenLogprob(String token, float logprob, List<TokenLogprob> topLogprobs) {

  public TokenLogprob {
    topLogprobs = topLogprobs == null ? List.of() : List.copyOf(topLogprobs);
  }

  /** The UTF-8 bytes of {@link #token()}, as OpenAI reports them. */
  public byte[] bytes() {
    return token.getBytes(StandardCharsets.UTF_8);
  }
}
