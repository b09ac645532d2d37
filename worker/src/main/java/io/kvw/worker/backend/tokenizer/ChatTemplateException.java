package io.kvw.worker.backend.tokenizer;

/**
 * A chat template refused a conversation or failed to render it. When the template itself
 * refused ({@code raise_exception(msg)}, e.g. "Conversation roles must alternate
 * user/assistant/user/assistant/..."), the message is the template's own, word for word, as
 * vLLM's server would report it; otherwise it says what failed.
 */
public final class ChatTemplateException extends RuntimeException {
  private final boolean raisedByTemplate;

  public ChatTemplateException(String message, boolean raisedByTemplate) {
    super(message, null, false, false);
    this.raisedByTemplate = raisedByTemplate;
  }

  /** Whether the template refused through {@code raise_exception}. */
  public boolean raisedByTemplate() {
    return raisedByTemplate;
  }
}
