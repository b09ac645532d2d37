package io.kvw.common;

import java.util.List;

/**
 * One sample of a result.
 *
 * @param finishReason vLLM's: stop, length or abort
 * @param matchedStop the stop string or stop token id that ended the sample; null when it
 *     ended otherwise (end of sequence, length, abort)
 * @param logprobs one entry per output token when the request asked for {@code logprobs};
 *     null otherwise
 */
public record Output(int index, String text, String finishReason, MatchedStop matchedStop,
    List<TokenLogprob> logprobs) {

  public Output {
    logprobs = logprobs == null ? null : List.copyOf(logprobs);
  }

  /** A sample without stop match or log probabilities. */
  public Output(int index, String text, String finishReason) {
    this(index, text, finishReason, null, null);
  }
}
