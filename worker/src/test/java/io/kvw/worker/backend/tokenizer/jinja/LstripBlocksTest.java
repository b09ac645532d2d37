package io.kvw.worker.backend.tokenizer.jinja;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

/**
 * Whitespace before a block tag that follows text on the same line survives, as in Jinja2;
 * at the start of a line it is stripped. Expected renderings come from Jinja2 under
 * transformers' settings ({@code testkit/tools/render_lstrip_cases.py}).
 */
class LstripBlocksTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @TestFactory
  Stream<DynamicTest> blockTagsStripOnlyWhitespaceThatStartsALine() throws IOException {
    JsonNode file;
    try (InputStream in = getClass().getResourceAsStream("/jinja/lstrip-cases.json")) {
      file = JSON.readTree(in);
    }
    @SuppressWarnings("unchecked")
    Map<String, Object> variables = JSON.convertValue(file.get("variables"), Map.class);
    TransformersJinja jinja = new TransformersJinja(Clock.systemUTC());
    List<DynamicTest> tests = new ArrayList<>();
    for (JsonNode c : file.get("cases")) {
      String template = c.get("template").textValue();
      tests.add(DynamicTest.dynamicTest(template, () ->
          assertThat(jinja.render(jinja.compile(template), variables))
              .isEqualTo(c.get("expected").textValue())));
    }
    assertThat(tests).hasSize(6);
    return tests.stream();
  }
}
