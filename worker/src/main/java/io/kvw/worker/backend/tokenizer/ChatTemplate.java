package io.kvw.worker.backend.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvw.common.ChatMessage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Renders chat messages into the prompt text the model was trained on.
 *
 * <p>The model's {@code chat_template} (Jinja, from {@code tokenizer_config.json}) is
 * recognised by its markers rather than executed: ChatML ({@code <|im_start|>}: Qwen, many
 * fine-tunes) and Llama 3 ({@code <|start_header_id|>}). Any other template makes chat requests
 * end as {@code backend_rejected} with a message saying so; plain prompts are unaffected.
 * A full Jinja engine is the planned replacement.
 *
 * <p>A ChatML template that writes a fixed system message when the conversation has none
 * (Qwen2 and Qwen2.5: "You are Qwen, created by Alibaba Cloud...") has it found and applied
 * the same way. Not reproduced: tools, and the date preamble of Llama 3.1+ templates.
 */
public final class ChatTemplate {

  /** The template families this renderer knows. */
  public enum Family { CHATML, LLAMA3 }

  /** A whole ChatML system turn written as one Jinja string literal: a fixed default. */
  private static final Pattern DEFAULT_SYSTEM = Pattern.compile(
      "(['\"])<\\|im_start\\|>system(?:\\\\n|\n)((?:(?!\\1)[^\\\\]|\\\\.)*?)"
          + "<\\|im_end\\|>(?:\\\\n|\n)\\1");

  private final Family family;
  private final String bosToken;
  private final String defaultSystem;

  private ChatTemplate(Family family, String bosToken, String defaultSystem) {
    this.family = family;
    this.bosToken = bosToken;
    this.defaultSystem = defaultSystem;
  }

  /** Reads the template next to the tokenizer; empty when there is none it can render. */
  public static Optional<ChatTemplate> load(Path tokenizerDirectory) throws IOException {
    Path config = tokenizerDirectory.resolve("tokenizer_config.json");
    if (!Files.isRegularFile(config)) {
      return Optional.empty();
    }
    JsonNode json = new ObjectMapper().readTree(config.toFile());
    JsonNode template = json.get("chat_template");
    String text = template == null ? "" : template.isTextual() ? template.textValue()
        : template.toString();
    String bos = json.path("bos_token").isTextual() ? json.path("bos_token").textValue() : "";
    if (text.contains("<|im_start|>")) {
      Matcher m = DEFAULT_SYSTEM.matcher(text);
      return Optional.of(new ChatTemplate(Family.CHATML, bos, m.find() ? unescape(m.group(2))
          : null));
    }
    if (text.contains("<|start_header_id|>")) {
      return Optional.of(new ChatTemplate(Family.LLAMA3, bos.isEmpty() ? "<|begin_of_text|>"
          : bos, null));
    }
    return Optional.empty();
  }

  /** A Jinja (Python) string literal's escapes. */
  private static String unescape(String literal) {
    StringBuilder b = new StringBuilder(literal.length());
    for (int i = 0; i < literal.length(); i++) {
      char c = literal.charAt(i);
      if (c != '\\' || i + 1 == literal.length()) {
        b.append(c);
        continue;
      }
      char e = literal.charAt(++i);
      b.append(switch (e) {
        case 'n' -> '\n';
        case 't' -> '\t';
        case 'r' -> '\r';
        default -> e; // \\, \', \"
      });
    }
    return b.toString();
  }

  /** The system message the template writes when the conversation has none, if any. */
  public Optional<String> defaultSystemMessage() {
    return Optional.ofNullable(defaultSystem);
  }

  public Family family() {
    return family;
  }

  /** The prompt for a chat request, ending where the assistant's answer begins. */
  public String render(io.kvw.common.InferenceRequest r) { return render(r.messages()); }

  /** The prompt for {@code messages}, ending where the assistant's answer begins. */
  public String render(List<ChatMessage> messages) {
    StringBuilder b = new StringBuilder();
    switch (family) {
      case CHATML -> {
        if (defaultSystem != null && (messages.isEmpty()
            || !"system".equals(messages.get(0).role()))) {
          b.append("<|im_start|>system\n").append(defaultSystem).append("<|im_end|>\n");
        }
        for (ChatMessage m : messages) {
          b.append("<|im_start|>").append(m.role()).append('\n').append(m.content())
              .append("<|im_end|>\n");
        }
        b.append("<|im_start|>assistant\n");
      }
      case LLAMA3 -> {
        b.append(bosToken);
        for (ChatMessage m : messages) {
          b.append("<|start_header_id|>").append(m.role()).append("<|end_header_id|>\n\n")
              .append(m.content().strip()).append("<|eot_id|>");
        }
        b.append("<|start_header_id|>assistant<|end_header_id|>\n\n");
      }
      default -> throw new IllegalStateException(family.toString());
    }
    return b.toString();
  }
}
