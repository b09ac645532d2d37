package io.kvw.testkit.sim;

import io.kvw.proto.vllm.InputLogProbs;
import io.kvw.proto.vllm.InputTokenLogProb;
import io.kvw.proto.vllm.OutputLogProbs;
import io.kvw.proto.vllm.TopLogProbs;

/**
 * The simulator's log probabilities: deterministic functions of token id and position, so a
 * test can compute what the simulator sent. The sampled token is always the most likely; its
 * alternatives are the next ids in the vocabulary, each half a nat less likely than the one
 * before. Top lists are shaped as vLLM's servicer sends them: the first {@code k} entries of
 * vLLM's per-position dict, sampled token first.
 */
public final class SimLogprobs {
  private SimLogprobs() {}

  /** The log probability of the token ranked {@code rank} (0: the sampled one) at a position. */
  public static float value(int sampledId, int position, int rank) {
    return -(0.01f + ((sampledId * 31 + position * 7) % 97) / 100f) - 0.5f * rank;
  }

  /** The token id ranked {@code rank} at a position whose sampled token is {@code sampledId}. */
  public static int alternative(int sampledId, int rank, int vocabSize) {
    return (sampledId + rank) % vocabSize;
  }

  static OutputLogProbs output(int[] ids, int from, int to, int top, int vocabSize) {
    OutputLogProbs.Builder b = OutputLogProbs.newBuilder();
    for (int i = from; i < to; i++) {
      b.addTokenIds(ids[i]).addTokenLogprobs(value(ids[i], i, 0));
      if (top > 0) {
        b.addTopLogprobs(top(ids[i], i, top, vocabSize));
      }
    }
    return b.build();
  }

  /** Prompt logprobs: none for the first token, as in vLLM. */
  static InputLogProbs prompt(int[] ids, int top, int vocabSize) {
    InputLogProbs.Builder b = InputLogProbs.newBuilder();
    for (int i = 0; i < ids.length; i++) {
      b.addTokenIds(ids[i]);
      b.addTokenLogprobs(i == 0 ? InputTokenLogProb.getDefaultInstance()
          : InputTokenLogProb.newBuilder().setValue(value(ids[i], i, 0)).build());
      if (top > 0) {
        b.addTopLogprobs(i == 0 ? TopLogProbs.getDefaultInstance()
            : top(ids[i], i, top, vocabSize));
      }
    }
    return b.build();
  }

  private static TopLogProbs top(int id, int position, int k, int vocabSize) {
    TopLogProbs.Builder t = TopLogProbs.newBuilder();
    for (int r = 0; r < k; r++) {
      t.addTokenIds(alternative(id, r, vocabSize)).addValues(value(id, position, r));
    }
    return t.build();
  }
}
