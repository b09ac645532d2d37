package io.kvw.worker.backend.vllm;

import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.kvw.common.Embedding;
import io.kvw.proto.vllm.EmbedRequest;
import io.kvw.proto.vllm.EmbedResponse;
import io.kvw.worker.backend.BackendException;
import io.kvw.worker.backend.EmbeddingModel;
import java.util.concurrent.CompletableFuture;

/**
 * Receives the answer of one {@code Embed} call (one input of a request): the vector, cut to
 * the requested dimensions, with the prompt tokens vLLM counted. Cancelling {@link #result()}
 * cancels the call.
 */
final class EmbedObserver implements ClientResponseObserver<EmbedRequest, EmbedResponse> {
  private final int index;
  private final int inputs;
  private final Integer dimensions;
  private final CompletableFuture<Embedding> result = new CompletableFuture<>();

  /**
   * @param index the input's position in the request
   * @param inputs how many inputs the request has (errors name the input when several)
   * @param dimensions the dimensions to keep, or null for all
   */
  EmbedObserver(int index, int inputs, Integer dimensions) {
    this.index = index;
    this.inputs = inputs;
    this.dimensions = dimensions;
  }

  CompletableFuture<Embedding> result() {
    return result;
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<EmbedRequest> call) {
    result.whenComplete((e, failure) -> {
      if (result.isCancelled()) {
        call.cancel("cancelled by the worker", null);
      }
    });
  }

  @Override
  public void onNext(EmbedResponse response) {
    float[] vector = new float[response.getEmbeddingCount()];
    for (int i = 0; i < vector.length; i++) {
      vector[i] = response.getEmbedding(i);
    }
    if (dimensions != null) {
      vector = EmbeddingModel.shorten(vector, dimensions);
    }
    result.complete(new Embedding(index, vector, response.getPromptTokens()));
  }

  @Override
  public void onError(Throwable t) {
    BackendException e = StatusClassifier.toException(t);
    result.completeExceptionally(inputs == 1 ? e : new BackendException(e.kind(), e.status(),
        "input[" + index + "]: " + e.getMessage(), t));
  }

  @Override
  public void onCompleted() {
    if (!result.isDone()) {
      result.completeExceptionally(new BackendException(BackendException.Kind.TRANSIENT,
          "INTERNAL", "Embed ended without an answer", null));
    }
  }
}
