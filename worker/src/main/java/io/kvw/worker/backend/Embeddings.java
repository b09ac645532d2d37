package io.kvw.worker.backend;

import io.kvw.common.Embedding;
import java.util.List;

/**
 * The finished embedding of every input of a request, in input order.
 *
 * @param embeddings one per input, each cut to the requested dimensions
 * @param backendMs time from sending the first call to the last answer
 */
public record Embeddings(List<Embedding> embeddings, long backendMs) implements BackendAnswer {

  public Embeddings {
    embeddings = List.copyOf(embeddings);
  }

  /** The tokens the model read, summed over the inputs (the result's prompt_tokens). */
  public int promptTokens() {
    return embeddings.stream().mapToInt(Embedding::promptTokens).sum();
  }
}
