package io.kvw.worker.backend.tokenizer;

import io.kvw.common.EmbeddingInput;
import io.kvw.common.EmbeddingRequest;
import io.kvw.common.InferenceRequest;
import io.kvw.common.SamplingParams;
import io.kvw.worker.backend.EmbeddingModel;
import io.kvw.worker.backend.Prompt;
import io.kvw.worker.backend.PromptPreparer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Prepares prompts the way vLLM's own OpenAI server does, so a request gets the same answer
 * through the worker as through {@code vllm serve}'s HTTP API:
 *
 * <ul>
 *   <li>a chat is rendered with the model's chat template (which writes the special tokens,
 *       a BOS included) and tokenized <em>without</em> adding special tokens: vLLM's chat
 *       path;
 *   <li>a plain prompt is tokenized <em>with</em> the tokenizer's special tokens (its
 *       post-processor adds a BOS for Llama-style models): vLLM's completions path.
 * </ul>
 *
 * Either way the model sees exactly one BOS. Then {@code truncate_prompt_tokens} keeps the
 * last tokens, and the length rules of vLLM's server apply: a prompt that fills the context
 * on its own, or leaves less room than {@code max_tokens}, is refused with vLLM's message.
 *
 * <p>For an embedding model it prepares embedding requests instead, as vLLM's embeddings
 * endpoint does: each text input tokenized <em>with</em> special tokens, token-id inputs as
 * given, each checked against the context length; {@code dimensions} only where the model
 * allows it ({@link EmbeddingModel}). A request of the other kind than the model is refused.
 */
public final class PromptEncoder implements PromptPreparer {
  private final TokenDecoder tokenizer;
  private final Optional<ChatTemplate> template;
  private final int maxContextLength;
  /** The embedding model served, or null for a generation model. */
  private final EmbeddingModel embeddingModel;

  /**
   * @param maxContextLength the model's {@code max_model_len} (GetModelInfo's
   *     {@code max_context_length}); 0 when the server does not say, then lengths are
   *     left to the server
   */
  public PromptEncoder(TokenDecoder tokenizer, Optional<ChatTemplate> template,
      int maxContextLength) {
    this(tokenizer, template, maxContextLength, null);
  }

  /**
   * @param embeddingModel the embedding model served (GetModelInfo's
   *     {@code is_generation=false}), or null for a generation model
   */
  public PromptEncoder(TokenDecoder tokenizer, Optional<ChatTemplate> template,
      int maxContextLength, EmbeddingModel embeddingModel) {
    this.tokenizer = tokenizer;
    this.template = template;
    this.maxContextLength = maxContextLength;
    this.embeddingModel = embeddingModel;
  }

  @Override
  public Prompt prepare(InferenceRequest request) throws InvalidPromptException {
    if (embeddingModel != null || request.isEmbedding()) {
      return prepareEmbedding(request);
    }
    String text;
    int[] ids;
    if (request.prompt() != null) {
      text = request.prompt();
      ids = tokenizer.encode(text, true);
    } else {
      if (template.isEmpty()) {
        throw new InvalidPromptException("the model has no chat template this worker can "
            + "render; send a prompt instead");
      }
      try {
        text = template.get().render(request);
      } catch (RuntimeException e) {
        // the template's own message (e.g. raise_exception("Conversation roles must
        // alternate")) says what is wrong with the conversation
        throw new InvalidPromptException("the chat template refused the messages: "
            + e.getMessage());
      }
      ids = tokenizer.encode(text, false);
    }
    SamplingParams p = request.params();
    if (p.truncatePromptTokens() != null) {
      int keep = p.truncatePromptTokens() == -1 && maxContextLength > 0 ? maxContextLength
          : p.truncatePromptTokens();
      if (keep > 0 && ids.length > keep) {
        ids = Arrays.copyOfRange(ids, ids.length - keep, ids.length); // vLLM keeps the end
      }
    }
    checkLength(ids.length, p.maxTokens());
    return new Prompt(text, ids);
  }

  private Prompt prepareEmbedding(InferenceRequest request) throws InvalidPromptException {
    if (embeddingModel == null) {
      throw new InvalidPromptException("this worker serves a generation model "
          + "(is_generation=true), which cannot embed: send prompt or messages, not input");
    }
    if (!request.isEmbedding()) {
      throw new InvalidPromptException("this worker serves the embedding model \""
          + embeddingModel.name() + "\" (is_generation=false), which cannot generate: send "
          + "input to embed, not prompt or messages");
    }
    EmbeddingRequest e = request.embedding();
    if (e.dimensions() != null && embeddingModel.refusal(e.dimensions()) != null) {
      throw new InvalidPromptException(embeddingModel.refusal(e.dimensions()));
    }
    List<Prompt> inputs = new ArrayList<>(e.inputs().size());
    for (int i = 0; i < e.inputs().size(); i++) {
      EmbeddingInput in = e.inputs().get(i);
      // vLLM's embeddings endpoint adds the special tokens (add_special_tokens defaults to
      // true there); ids given by the client are used as given
      int[] ids = in.text() != null ? tokenizer.encode(in.text(), true) : in.tokenIds();
      if (maxContextLength > 0 && ids.length > maxContextLength) {
        throw new InvalidPromptException((e.inputs().size() > 1 ? "input[" + i + "]: " : "")
            + "This model's maximum context length is " + maxContextLength + " tokens. "
            + "However, you requested " + ids.length + " tokens in the input for embedding "
            + "generation. Please reduce the length of the input.");
      }
      inputs.add(new Prompt(in.text() != null ? in.text() : "", ids));
    }
    return Prompt.ofInputs(inputs);
  }

  /** vLLM's checks, with its wording, so users recognise them. */
  private void checkLength(int tokens, Integer maxTokens) throws InvalidPromptException {
    if (maxContextLength <= 0) {
      return;
    }
    if (tokens >= maxContextLength) {
      throw new InvalidPromptException("This model's maximum context length is "
          + maxContextLength + " tokens. However, your request has " + tokens + " input "
          + "tokens. Please reduce the length of the input.");
    }
    if (maxTokens != null && tokens + maxTokens > maxContextLength) {
      throw new InvalidPromptException("'max_tokens' is too large: " + maxTokens + ". This "
          + "model's maximum context length is " + maxContextLength + " tokens and your "
          + "request has " + tokens + " input tokens (" + maxTokens + " > " + maxContextLength
          + " - " + tokens + ").");
    }
  }
}
