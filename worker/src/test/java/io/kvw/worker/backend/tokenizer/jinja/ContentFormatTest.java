package io.kvw.worker.backend.tokenizer.jinja;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvw.worker.backend.tokenizer.ChatTemplateException;
import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * The content format detection against vLLM's own, run on Jinja2's AST by
 * testkit/tools/render_chat_templates.py: every shape of content-format-cases.json (loops over
 * content through filters, slices, conditions, {@code set} aliases and macros, and the shapes
 * vLLM gives up on) must get the format recorded in expected.json. The model templates' formats
 * are checked by ChatTemplateConformanceTest.
 */
class ContentFormatTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TestFactory
  Stream<DynamicTest> everyShapeGetsTheFormatVllmDetects() throws IOException {
    JsonNode cases = resource("content-format-cases.json").get("cases");
    JsonNode expected = resource("expected.json").get("content_format_cases");
    TransformersJinja jinja = new TransformersJinja(Clock.systemUTC());
    List<DynamicTest> tests = new ArrayList<>();
    cases.fields().forEachRemaining(c -> tests.add(DynamicTest.dynamicTest(c.getKey(), () -> {
      String format = expected.get(c.getKey()).textValue();
      assertThat(detect(jinja, c.getValue().textValue()).name())
          .isEqualToIgnoringCase(format);
    })));
    assertThat(tests).hasSize(expected.size());
    return tests.stream();
  }

  /** A template that does not compile is "string", as vLLM falls back to when Jinja2 fails. */
  private static ContentFormat detect(TransformersJinja jinja, String source) {
    try {
      return ContentFormat.of(jinja.compile(source));
    } catch (ChatTemplateException e) {
      return ContentFormat.STRING;
    }
  }

  private static JsonNode resource(String name) throws IOException {
    try (InputStream in = ContentFormatTest.class.getResourceAsStream("/chat-templates/"
        + name)) {
      return JSON.readTree(in);
    }
  }
}
