package io.kvw.worker.backend;

/**
 * Exactly what the model is given for one request, prepared at admission: the prompt text
 * (a plain prompt, or the chat rendered with the model's template) and its token ids, special
 * tokens included.
 *
 * @param text the prompt text, sent along as {@code original_text} for reference
 * @param ids the token ids the model sees; null when the backend takes text instead
 */
public record Prompt(String text, int[] ids) {

  /** The number of prompt tokens, or -1 when the backend tokenizes. */
  public int tokens() {
    return ids == null ? -1 : ids.length;
  }
}
