package io.kvw.worker.backend.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvw.common.ChatMessage;
import io.kvw.common.ChatOptions;
import io.kvw.common.InferenceRequest;
import io.kvw.common.SamplingParams;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChatTemplateTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final String CHATML = "{% for message in messages %}{{ '<|im_start|>' + "
      + "message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
      + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

  private static InferenceRequest chat(ChatOptions options, ChatMessage... messages) {
    return new InferenceRequest("r", null, null, List.of(messages), SamplingParams.DEFAULTS,
        null, false, null, options);
  }

  private static ChatTemplate load(Path dir, Map<String, Object> config) throws Exception {
    Files.writeString(dir.resolve("tokenizer_config.json"), JSON.writeValueAsString(config));
    return ChatTemplate.load(dir).orElseThrow();
  }

  @Test
  void rendersTheConfiguredTemplateWithAGenerationPrompt(@TempDir Path dir) throws Exception {
    ChatTemplate t = load(dir, Map.of("chat_template", CHATML, "eos_token", "<|im_end|>"));
    assertThat(t.render(chat(ChatOptions.NONE, new ChatMessage("system", "Be brief."),
        new ChatMessage("user", "Hi")))).isEqualTo("<|im_start|>system\nBe brief.<|im_end|>\n"
            + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    assertThat(t.origin()).isEqualTo("tokenizer_config.json");
  }

  @Test
  void chatTemplateJinjaWinsOverTheConfigAndNamedTemplatesUseDefault(@TempDir Path dir)
      throws Exception {
    ChatTemplate named = load(dir, Map.of("chat_template", List.of(
        Map.of("name", "tool_use", "template", "TOOLS"),
        Map.of("name", "default", "template", "{{ bos_token }}DEFAULT{{ eos_token }}")),
        "bos_token", Map.of("content", "<s>", "lstrip", false), "eos_token", "</s>"));
    assertThat(named.render(chat(ChatOptions.NONE, new ChatMessage("user", "x"))))
        .isEqualTo("<s>DEFAULT</s>");
    Files.writeString(dir.resolve("chat_template.jinja"), "FILE {{ messages | length }}");
    ChatTemplate file = ChatTemplate.load(dir).orElseThrow();
    assertThat(file.origin()).isEqualTo("chat_template.jinja");
    assertThat(file.render(chat(ChatOptions.NONE, new ChatMessage("user", "x"))))
        .isEqualTo("FILE 1");
  }

  @Test
  void kwargsToolsAndDocumentsAreTemplateVariables(@TempDir Path dir) throws Exception {
    ChatTemplate t = load(dir, Map.of("chat_template", "{{ enable_thinking }}|"
        + "{{ tools[0].function.name }}|{{ documents | tojson }}|{{ messages[0].name }}"));
    var options = new ChatOptions(JSON.readTree("{\"enable_thinking\": false}"),
        JSON.readTree("[{\"type\":\"function\",\"function\":{\"name\":\"f\"}}]"),
        JSON.readTree("[{\"title\":\"Ä\",\"text\":\"b\"}]"));
    var message = new ChatMessage("user",
        JSON.readTree("{\"role\":\"user\",\"content\":\"x\",\"name\":\"ann\"}"));
    assertThat(t.render(chat(options, message)))
        .isEqualTo("False|f|[{\"title\": \"Ä\", \"text\": \"b\"}]|ann");
  }

  @Test
  void aTemplateThatRaisesFailsWithItsOwnMessage(@TempDir Path dir) throws Exception {
    ChatTemplate t = load(dir, Map.of("chat_template", "{% for m in messages %}{% if m.role "
        + "== 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
        + "{{ m.content }}{% endfor %}"));
    assertThatThrownBy(() -> t.render(chat(ChatOptions.NONE, new ChatMessage("system", "s"))))
        .isInstanceOf(ChatTemplateException.class).hasMessage("System role not supported");
  }

  @Test
  void aTemplateThatFailsOtherwiseSaysWhat(@TempDir Path dir) throws Exception {
    // the template loops over content, so content reaches it as a list of parts
    ChatTemplate t = load(dir, Map.of("chat_template", "{% for m in messages %}"
        + "{% for p in m.content %}{% endfor %}{{ 'a' + m.content }}{% endfor %}"));
    assertThatThrownBy(() -> t.render(chat(ChatOptions.NONE, new ChatMessage("user", "x"))))
        .isInstanceOfSatisfying(ChatTemplateException.class,
            e -> assertThat(e.raisedByTemplate()).isFalse())
        .hasMessageContaining("can only concatenate str (not \"list\") to str");
  }

  @Test
  void noConfigNoTemplateOrABrokenTemplateMeansNoChat(@TempDir Path dir) throws Exception {
    assertThat(ChatTemplate.load(dir)).isEmpty();
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\":\"</s>\"}");
    assertThat(ChatTemplate.load(dir)).isEmpty();
    Files.writeString(dir.resolve("tokenizer_config.json"),
        "{\"chat_template\":\"{% for m in messages %}no end\"}");
    assertThat(ChatTemplate.load(dir)).isEmpty();
  }

  @Test
  void oneCompiledTemplateRendersFromManyThreadsAtOnce(@TempDir Path dir) throws Exception {
    ChatTemplate t = load(dir, Map.of("chat_template", "{%- set ns = namespace(n=0) %}"
        + "{%- for m in messages %}{%- set ns.n = ns.n + 1 %}{{ m.content | trim }};{% endfor %}"
        + "{{ ns.n }}"));
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<Boolean>> results = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        int n = i;
        results.add(pool.submit(() -> {
          List<ChatMessage> messages = new ArrayList<>();
          StringBuilder expected = new StringBuilder();
          for (int j = 0; j <= n % 7; j++) {
            messages.add(new ChatMessage("user", " m" + n + "-" + j + " "));
            expected.append("m").append(n).append('-').append(j).append(';');
          }
          expected.append(messages.size());
          return t.render(chat(ChatOptions.NONE, messages.toArray(ChatMessage[]::new)))
              .equals(expected.toString());
        }));
      }
      for (Future<Boolean> r : results) {
        assertThat(r.get()).isTrue();
      }
    } finally {
      pool.shutdownNow();
    }
  }
}
