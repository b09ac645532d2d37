package io.kvw.worker.backend.vllm;

import io.kvw.common.TokenLogprob;
import io.kvw.proto.vllm.InputLogProbs;
import io.kvw.proto.vllm.OutputLogProbs;
import io.kvw.proto.vllm.TopLogProbs;
import io.kvw.worker.backend.tokenizer.TokenDecoder;
import java.util.ArrayList;
import java.util.List;

/**
 * vLLM's logprob messages as OpenAI-shaped entries: each token decoded on its own (as vLLM's
 * OpenAI server shows it), with its top alternatives in the order the server sent them.
 */
final class LogprobDecoder {
  private final TokenDecoder decoder;

  LogprobDecoder(TokenDecoder decoder) {
    this.decoder = decoder;
  }

  /** The entries of every part, in order (a streamed sample's chunks each carry a delta). */
  List<TokenLogprob> output(List<OutputLogProbs> parts) {
    List<TokenLogprob> out = new ArrayList<>();
    for (OutputLogProbs part : parts) {
      for (int i = 0; i < part.getTokenIdsCount(); i++) {
        out.add(new TokenLogprob(decoder.tokenText(part.getTokenIds(i)),
            part.getTokenLogprobs(i), top(part.getTopLogprobsList(), i)));
      }
    }
    return out;
  }

  /** One entry per prompt token; null where the server has no value (the first token). */
  List<TokenLogprob> prompt(InputLogProbs in) {
    List<TokenLogprob> out = new ArrayList<>(in.getTokenIdsCount());
    for (int i = 0; i < in.getTokenIdsCount(); i++) {
      if (i >= in.getTokenLogprobsCount() || !in.getTokenLogprobs(i).hasValue()) {
        out.add(null);
        continue;
      }
      out.add(new TokenLogprob(decoder.tokenText(in.getTokenIds(i)),
          in.getTokenLogprobs(i).getValue(), top(in.getTopLogprobsList(), i)));
    }
    return out;
  }

  private List<TokenLogprob> top(List<TopLogProbs> tops, int position) {
    if (position >= tops.size()) {
      return List.of();
    }
    TopLogProbs t = tops.get(position);
    List<TokenLogprob> alts = new ArrayList<>(t.getTokenIdsCount());
    for (int k = 0; k < t.getTokenIdsCount() && k < t.getValuesCount(); k++) {
      alts.add(new TokenLogprob(decoder.tokenText(t.getTokenIds(k)), t.getValues(k), null));
    }
    return alts;
  }
}
