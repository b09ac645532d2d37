package io.kvw.worker.backend;

import io.kvw.common.InferenceRequest;

/**
 * Turns a request into the model's input before any backend call: renders a chat with the
 * model's template, tokenizes, and checks the result against the model's limits, so a prompt
 * that cannot run ends as {@code invalid_request} without reaching the server. Thread-safe.
 */
@FunctionalInterface
public interface PromptPreparer {

  /** Passes plain prompts through as text, untokenized; refuses chats (no template). */
  PromptPreparer TEXT_ONLY = request -> {
    if (request.isEmbedding()) {
      throw new InvalidPromptException("this backend serves no embedding model; send a prompt "
          + "instead of input");
    }
    if (request.prompt() == null) {
      throw new InvalidPromptException("this backend cannot render chat messages; send a "
          + "prompt instead");
    }
    return new Prompt(request.prompt(), null);
  };

  Prompt prepare(InferenceRequest request) throws InvalidPromptException;

  /** The request cannot become a prompt for this model; the message says why. */
  final class InvalidPromptException extends Exception {
    public InvalidPromptException(String message) {
      super(message, null, false, false);
    }
  }
}
