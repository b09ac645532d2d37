package io.kvw.worker.backend.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvw.common.ChatMessage;
import io.kvw.common.ChatOptions;
import io.kvw.common.InferenceRequest;
import io.kvw.worker.backend.tokenizer.jinja.ContentFormat;
import io.kvw.worker.backend.tokenizer.jinja.TransformersJinja;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The model's chat template, executed as vLLM's server executes it: Jinja with the settings of
 * transformers' {@code apply_chat_template} (see {@link TransformersJinja}), the messages as
 * vLLM's server prepares them ({@link TemplateMessages}, in the {@link ContentFormat} detected
 * from the template when it is loaded), the request's {@code tools}, {@code documents} and
 * {@code chat_template_kwargs}, the tokenizer's special tokens, and
 * {@code add_generation_prompt=true}.
 *
 * <p>The template comes from {@code chat_template.jinja} in the tokenizer directory when there
 * is one, else from {@code tokenizer_config.json}'s {@code chat_template} (a string, or a list of
 * named templates of which {@code default} is used). It is parsed once; {@link #render} is
 * thread-safe.
 */
public final class ChatTemplate {
  private static final Logger log = LoggerFactory.getLogger(ChatTemplate.class);
  private static final ObjectMapper JSON = new ObjectMapper();
  /** The special tokens transformers passes to every template (those the tokenizer sets). */
  private static final List<String> SPECIAL_TOKENS = List.of("bos_token", "eos_token",
      "unk_token", "pad_token");

  private final TransformersJinja jinja;
  private final TransformersJinja.Compiled template;
  private final ContentFormat contentFormat;
  private final Map<String, Object> specialTokens;
  private final String origin;

  private ChatTemplate(TransformersJinja jinja, TransformersJinja.Compiled template,
      Map<String, Object> specialTokens, String origin) {
    this.jinja = jinja;
    this.template = template;
    this.contentFormat = ContentFormat.of(template);
    this.specialTokens = specialTokens;
    this.origin = origin;
  }

  /**
   * Reads and compiles the template next to the tokenizer; empty when there is none, or when it
   * does not compile (logged: chat requests are then refused, prompts still served).
   */
  public static Optional<ChatTemplate> load(Path tokenizerDirectory) throws IOException {
    return load(tokenizerDirectory, Clock.systemDefaultZone());
  }

  /** {@link #load(Path)} with the clock {@code strftime_now} reads. */
  static Optional<ChatTemplate> load(Path tokenizerDirectory, Clock clock) throws IOException {
    Path configFile = tokenizerDirectory.resolve("tokenizer_config.json");
    JsonNode config = Files.isRegularFile(configFile) ? JSON.readTree(configFile.toFile())
        : JSON.createObjectNode();
    Path jinjaFile = tokenizerDirectory.resolve("chat_template.jinja");
    String source;
    String origin;
    if (Files.isRegularFile(jinjaFile)) {
      source = Files.readString(jinjaFile, StandardCharsets.UTF_8);
      origin = jinjaFile.getFileName().toString();
    } else {
      source = configuredTemplate(config.get("chat_template"));
      origin = "tokenizer_config.json";
    }
    if (source == null || source.isBlank()) {
      return Optional.empty();
    }
    TransformersJinja jinja = new TransformersJinja(clock);
    TransformersJinja.Compiled compiled;
    try {
      compiled = jinja.compile(source);
    } catch (ChatTemplateException e) {
      log.warn("The chat template in {} cannot be used, chat requests will be refused: {}",
          origin, e.getMessage());
      return Optional.empty();
    }
    Map<String, Object> tokens = new LinkedHashMap<>();
    for (String name : SPECIAL_TOKENS) {
      String token = specialToken(config.get(name));
      if (token != null) {
        tokens.put(name, token);
      }
    }
    return Optional.of(new ChatTemplate(jinja, compiled, Map.copyOf(tokens), origin));
  }

  /** A string template, or the {@code default} one of a list of named templates. */
  private static String configuredTemplate(JsonNode node) {
    if (node == null || node.isNull()) {
      return null;
    }
    if (node.isTextual()) {
      return node.textValue();
    }
    if (node.isArray()) {
      for (JsonNode named : node) {
        if ("default".equals(named.path("name").asText()) && named.path("template").isTextual()) {
          return named.get("template").textValue();
        }
      }
    }
    return null;
  }

  /** A special token given as a string, or as an AddedToken object {@code {"content": ...}}. */
  private static String specialToken(JsonNode node) {
    if (node == null) {
      return null;
    }
    if (node.isTextual()) {
      return node.textValue();
    }
    return node.path("content").isTextual() ? node.get("content").textValue() : null;
  }

  /** Where the template came from, for the worker's startup log. */
  public String origin() {
    return origin;
  }

  /** Whether the template is given message content as a string or as a list of parts. */
  public ContentFormat contentFormat() {
    return contentFormat;
  }

  /**
   * The prompt for a chat request, ending where the assistant's answer begins
   * ({@code add_generation_prompt=true}).
   *
   * @throws ChatTemplateException when the template refuses the conversation (its own message)
   *     or fails to render it
   */
  public String render(InferenceRequest request) {
    List<ChatMessage> messages = request.messages();
    if (messages == null) {
      throw new IllegalArgumentException("a chat request has messages");
    }
    ChatOptions chat = request.chat() == null ? ChatOptions.NONE : request.chat();
    Map<String, Object> variables = new LinkedHashMap<>(specialTokens);
    if (chat.templateKwargs() != null) {
      chat.templateKwargs().fields().forEachRemaining(e -> variables.put(e.getKey(),
          plain(e.getValue())));
    }
    variables.put("messages", TemplateMessages.of(messages, contentFormat));
    variables.put("tools", plain(chat.tools()));
    variables.put("documents", plain(chat.documents()));
    variables.put("add_generation_prompt", true);
    return jinja.render(template, variables);
  }

  private static Object plain(JsonNode node) {
    return TemplateMessages.plain(node);
  }
}
