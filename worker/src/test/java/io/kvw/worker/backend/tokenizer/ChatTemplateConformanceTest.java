package io.kvw.worker.backend.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvw.common.Decoded;
import io.kvw.common.RecordSource;
import io.kvw.common.RequestCodec;
import io.kvw.common.RequestLimits;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Real chat templates of public models (src/test/resources/chat-templates, each naming where
 * it came from) rendered with every conversation of conversations.json, compared byte for byte
 * with what Python's Jinja2 renders under transformers' settings (expected.json, written by
 * testkit/tools/render_chat_templates.py). A conversation the template refuses must fail with
 * the template's own message; one Jinja2 itself fails on must fail here too. Each template's
 * content format ("string" or "openai") must be the one vLLM's detection finds in Jinja2's AST.
 *
 * <p>Each request goes the whole way: JSON record, RequestCodec, ChatTemplate.load from a
 * tokenizer directory, render.
 */
class ChatTemplateConformanceTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String FOLDER = "/chat-templates/";
  private static final RequestCodec CODEC = new RequestCodec(RequestLimits.defaults());

  @TestFactory
  Stream<DynamicContainer> everyTemplateRendersEveryConversationAsJinja2Does() throws Exception {
    JsonNode expected = resource("expected.json");
    JsonNode conversations = resource("conversations.json").get("conversations");
    Clock clock = Clock.fixed(LocalDateTime.parse(expected.get("strftime_now").textValue())
        .toInstant(ZoneOffset.UTC), ZoneOffset.UTC);
    List<DynamicContainer> templates = new ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = expected.get("results").fields();
        it.hasNext(); ) {
      Map.Entry<String, JsonNode> template = it.next();
      ChatTemplate chat = load(template.getKey(), clock);
      List<DynamicTest> cases = new ArrayList<>();
      String format = expected.get("content_format").get(template.getKey()).textValue();
      cases.add(DynamicTest.dynamicTest("content format " + format, () ->
          assertThat(chat.contentFormat().name()).isEqualToIgnoringCase(format)));
      template.getValue().fields().forEachRemaining(c -> cases.add(DynamicTest.dynamicTest(
          c.getKey(), () -> check(chat, conversations.get(c.getKey()), c.getValue()))));
      templates.add(DynamicContainer.dynamicContainer(template.getKey(), cases));
    }
    assertThat(templates).hasSizeGreaterThanOrEqualTo(20);
    return templates.stream();
  }

  private static void check(ChatTemplate chat, JsonNode conversation, JsonNode expected) {
    ObjectNode record = conversation.deepCopy();
    Decoded decoded = CODEC.decode(record.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8),
        new RecordSource("chat", 0, 0), 0);
    assertThat(decoded).isInstanceOf(Decoded.Accepted.class);
    var request = ((Decoded.Accepted) decoded).request();
    if (expected.has("text")) {
      assertThat(chat.render(request)).isEqualTo(expected.get("text").textValue());
    } else if (expected.get("raised").booleanValue()) {
      assertThatThrownBy(() -> chat.render(request))
          .isInstanceOfSatisfying(ChatTemplateException.class,
              e -> assertThat(e.raisedByTemplate()).isTrue())
          .hasMessage(expected.get("error").textValue());
    } else {
      // Jinja2 itself failed (a TypeError and the like): the render must fail too
      assertThatThrownBy(() -> chat.render(request))
          .as("Jinja2 failed with %s", expected.get("error").textValue())
          .isInstanceOfSatisfying(ChatTemplateException.class,
              e -> assertThat(e.raisedByTemplate()).isFalse());
    }
  }

  /** The template file as a tokenizer directory's tokenizer_config.json. */
  private static ChatTemplate load(String name, Clock clock) throws IOException {
    Path dir = Files.createTempDirectory("chat-template-" + name);
    try (InputStream in = ChatTemplateConformanceTest.class.getResourceAsStream(
        FOLDER + name + ".json")) {
      Files.copy(in, dir.resolve("tokenizer_config.json"));
    }
    try {
      return ChatTemplate.load(dir, clock).orElseThrow(() -> new AssertionError(name
          + " does not load"));
    } finally {
      Files.delete(dir.resolve("tokenizer_config.json"));
      Files.delete(dir);
    }
  }

  private static JsonNode resource(String name) throws IOException {
    try (InputStream in = ChatTemplateConformanceTest.class.getResourceAsStream(FOLDER + name)) {
      return JSON.readTree(in);
    }
  }
}
