package io.kvw.worker.backend.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvw.common.ChatMessage;
import io.kvw.worker.backend.tokenizer.jinja.ContentFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * What vLLM's chat path does to messages before the template, case by case; the conformance
 * suite (ChatTemplateConformanceTest) checks the same against the Python model of it.
 */
class TemplateMessagesTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  private static Object only(String message, ContentFormat format) throws Exception {
    return TemplateMessages.of(List.of(new ChatMessage("x", JSON.readTree(message))), format)
        .get(0);
  }

  @Test
  void textPartsAreJoinedForStringTemplatesAndStringsWrappedForOpenAiOnes() throws Exception {
    String parts = "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"a\"},"
        + "{\"type\":\"text\",\"text\":\"\"},\"b\",{\"type\":\"refusal\",\"refusal\":\"c\"}]}";
    assertThat(only(parts, ContentFormat.STRING))
        .isEqualTo(Map.of("role", "user", "content", "a\nb\nc"));
    assertThat(only("{\"role\":\"user\",\"content\":\"hi\"}", ContentFormat.OPENAI))
        .isEqualTo(Map.of("role", "user", "content", List.of(Map.of("type", "text",
            "text", "hi"))));
    assertThat(only("{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
        + "[{\"id\":\"1\",\"function\":{\"name\":\"f\",\"arguments\":\"{}\"}}]}",
        ContentFormat.STRING)).extracting(m -> ((Map<?, ?>) m).get("content")).isEqualTo("");
  }

  @Test
  void toolResultsAreOneStringWhateverTheFormat() throws Exception {
    String tool = "{\"role\":\"tool\",\"tool_call_id\":\"7\",\"content\":"
        + "[{\"type\":\"text\",\"text\":\"x\"},{\"type\":\"text\",\"text\":\"y\"}]}";
    for (ContentFormat format : ContentFormat.values()) {
      assertThat(only(tool, format)).isEqualTo(Map.of("role", "tool", "content", "x\ny",
          "tool_call_id", "7"));
    }
  }

  @Test
  void toolCallArgumentsBecomeObjectsAndWhatIsNotJsonBecomesEmpty() throws Exception {
    String calls = "{\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":["
        + "{\"id\":\"1\",\"function\":{\"name\":\"f\",\"arguments\":\"{\\\"a\\\": [1, true]}\"}},"
        + "{\"id\":\"2\",\"function\":{\"name\":\"g\",\"arguments\":\"{\\\"a\\\": 1} tail\"}},"
        + "{\"id\":\"3\",\"function\":{\"name\":\"h\",\"arguments\":\" \"}},"
        + "{\"id\":\"4\",\"function\":{\"name\":\"i\",\"arguments\":{\"b\":2}}},"
        + "{\"id\":\"5\",\"function\":{\"name\":\"j\",\"arguments\":7}}]}";
    List<?> out = (List<?>) ((Map<?, ?>) only(calls, ContentFormat.STRING)).get("tool_calls");
    List<?> arguments = out.stream().map(c -> ((Map<?, ?>) ((Map<?, ?>) c)
        .get("function")).get("arguments")).toList();
    assertThat(arguments).isEqualTo(List.of(Map.of("a", List.of(1, true)), Map.of(),
        Map.of(), Map.of("b", 2), Map.of()));
  }

  @Test
  void fieldsVllmDoesNotPassOnAreDroppedAndReasoningIsGivenUnderBothNames() throws Exception {
    String m = "{\"role\":\"assistant\",\"content\":\"ok\",\"name\":\"bot\",\"reasoning\":\"r\","
        + "\"reasoning_content\":\"old\",\"tool_call_id\":\"9\",\"weight\":0}";
    assertThat(only(m, ContentFormat.STRING)).isEqualTo(Map.of("role", "assistant",
        "content", "ok", "name", "bot", "reasoning", "r", "reasoning_content", "r"));
  }

  @Test
  void aPartThatIsNotTextIsRefusedNamingWhere() {
    assertThatThrownBy(() -> only("{\"role\":\"user\",\"content\":[{\"type\":\"image_url\","
        + "\"image_url\":{\"url\":\"http://x/a.png\"}}]}", ContentFormat.OPENAI))
        .isInstanceOf(ChatTemplateException.class)
        .hasMessage("messages[0].content[0] is a 'image_url' part: only text parts can be "
            + "sent to this model");
  }
}
