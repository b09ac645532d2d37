package io.kvw.common;

import java.util.List;

/**
 * What an embedding request asks for: one or more inputs, each embedded by its own call to
 * vLLM's {@code Embed} RPC (which takes tokenized input, one sequence per call).
 *
 * @param inputs the inputs in request order; never empty
 * @param dimensions the number of dimensions to keep (Matryoshka models), or null for the
 *     model's own
 */
public record EmbeddingRequest(List<EmbeddingInput> inputs, Integer dimensions) {

  public EmbeddingRequest {
    inputs = List.copyOf(inputs);
    if (inputs.isEmpty()) {
      throw new IllegalArgumentException("an embedding request needs at least one input");
    }
  }
}
