package io.kvw.worker.backend;

/**
 * Exactly what the model is given for one request, prepared at admission: the prompt text
 * (a plain prompt, or the chat rendered with the model's template) and its token ids, special
 * tokens included. For an embedding request, one such prompt per input in {@code inputs}.
 *
 * @param text the prompt text, sent along as {@code original_text} for reference ("" for
 *     input given as token ids)
 * @param ids the token ids the model sees; null when the backend takes text instead
 * @param inputs an embedding request's inputs, each prepared, in input order; null for a
 *     generation request
 */
public record Prompt(String text, int[] ids, java.util.List<Prompt> inputs) {

  /** The prompt of a generation request. */
  public Prompt(String text, int[] ids) {
    this(text, ids, null);
  }

  /** The prepared inputs of an embedding request. */
  public static Prompt ofInputs(java.util.List<Prompt> inputs) {
    return new Prompt(null, null, java.util.List.copyOf(inputs));
  }

  /** The number of prompt tokens, or -1 when the backend tokenizes. */
  public int tokens() {
    if (inputs != null) {
      return inputs.stream().mapToInt(Prompt::tokens).sum();
    }
    return ids == null ? -1 : ids.length;
  }
}
