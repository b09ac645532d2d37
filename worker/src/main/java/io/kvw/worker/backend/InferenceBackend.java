package io.kvw.worker.backend;

import java.util.Collection;
import java.util.concurrent.CompletableFuture;

/**
 * A server that turns prompts into completions. The dispatcher talks only to this interface,
 * so other backends (an OpenAI-compatible HTTP server, several replicas with load-aware
 * balancing) can stand behind it later.
 *
 * <p>Every method returns at once; no caller thread waits on the network.
 */
public interface InferenceBackend extends AutoCloseable {

  /**
   * Starts one generation. The future completes with the decoded outputs, or exceptionally
   * with a {@link BackendException} whose {@link BackendException.Kind} tells the dispatcher
   * whether to dead-letter, retry, or pause intake.
   */
  CompletableFuture<Generation> generate(GenerationCall call);

  /**
   * Embeds every input of an embedding request. The future completes with one embedding per
   * input, in input order, or exceptionally with a {@link BackendException} as
   * {@link #generate} does; cancelling it cancels the calls still running. A backend without
   * embedding models refuses.
   */
  default CompletableFuture<Embeddings> embed(EmbeddingCall call) {
    return CompletableFuture.failedFuture(new BackendException(BackendException.Kind.REJECTED,
        "UNSUPPORTED", "this backend serves no embedding model", null));
  }

  /** Asks the server whether it can take work (vLLM's {@code HealthCheck}). */
  CompletableFuture<Boolean> healthy();

  /** Best-effort cancellation of running requests on the server (vLLM's {@code Abort}). */
  CompletableFuture<Void> abort(Collection<String> requestIds);

  /**
   * The server's load, for adaptive concurrency; empty when the backend cannot tell (then a
   * latency rule is used instead).
   */
  default CompletableFuture<java.util.Optional<BackendLoad>> load() {
    return CompletableFuture.completedFuture(java.util.Optional.empty());
  }

  /**
   * How this backend wants prompts prepared at admission (rendered, tokenized, checked
   * against the model's limits); by default, plain prompts pass through as text.
   */
  default PromptPreparer prompts() {
    return PromptPreparer.TEXT_ONLY;
  }

  /** The model this backend serves, as clients name it in a request's {@code model} field. */
  String modelName();

  @Override
  void close();
}
