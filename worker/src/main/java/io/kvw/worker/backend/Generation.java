package io.kvw.worker.backend;

import io.kvw.common.Output;
import io.kvw.common.TokenLogprob;
import io.kvw.common.Usage;
import java.util.List;

/**
 * A finished generation: one output per sample, ordered by index.
 *
 * @param ttftMs time from sending the call to the first token, or -1 when unknown
 * @param backendMs time from sending the call to its last response
 * @param promptLogprobs the prompt's log probabilities when asked for, else null
 */
public record Generation(List<Output> outputs, Usage usage, long ttftMs, long backendMs,
    List<TokenLogprob> promptLogprobs) implements BackendAnswer {

  /** A generation without prompt logprobs. */
  public Generation(List<Output> outputs, Usage usage, long ttftMs, long backendMs) {
    this(outputs, usage, ttftMs, backendMs, null);
  }
}
