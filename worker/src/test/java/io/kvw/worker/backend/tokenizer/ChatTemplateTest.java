package io.kvw.worker.backend.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvw.common.ChatMessage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ChatTemplateTest {
  /** The shape of Qwen2.5's template (tools branch shortened): a default system turn. */
  private static final String QWEN25 = """
      {%- if tools %}
          {{- '<|im_start|>system\\n' }}
          {%- if messages[0]['role'] == 'system' %}
              {{- messages[0]['content'] }}
          {%- else %}
              {{- 'You are Qwen, created by Alibaba Cloud. You are a helpful assistant.' }}
          {%- endif %}
          {{- "\\n\\n# Tools\\n<tools></tools><|im_end|>\\n" }}
      {%- else %}
          {%- if messages[0]['role'] == 'system' %}
              {{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}
          {%- else %}
              {{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. You are a \
      helpful assistant.<|im_end|>\\n' }}
          {%- endif %}
      {%- endif %}
      {%- for message in messages %}
          {{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}
      {%- endfor %}
      {%- if add_generation_prompt %}
          {{- '<|im_start|>assistant\\n' }}
      {%- endif %}
      """;

  private static ChatTemplate load(Path dir, String template) throws Exception {
    Files.writeString(dir.resolve("tokenizer_config.json"), new ObjectMapper()
        .writeValueAsString(Map.of("chat_template", template, "eos_token", "<|im_end|>")));
    return ChatTemplate.load(dir).orElseThrow();
  }

  @Test
  void aChatmlTemplateWithADefaultSystemTurnGetsItWhenTheConversationHasNone(
      @TempDir Path dir) throws Exception {
    ChatTemplate t = load(dir, QWEN25);
    assertThat(t.family()).isEqualTo(ChatTemplate.Family.CHATML);
    assertThat(t.defaultSystemMessage()).hasValue(
        "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.");
    assertThat(t.render(List.of(new ChatMessage("user", "Hi")))).isEqualTo(
        "<|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful "
            + "assistant.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    // a conversation's own system message replaces the default
    assertThat(t.render(List.of(new ChatMessage("system", "Be brief."),
        new ChatMessage("user", "Hi")))).isEqualTo("<|im_start|>system\nBe brief.<|im_end|>\n"
            + "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  }

  @Test
  void aPlainChatmlTemplateAddsNothing(@TempDir Path dir) throws Exception {
    ChatTemplate t = load(dir, "{% for message in messages %}{{ '<|im_start|>' + "
        + "message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
        + "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}");
    assertThat(t.defaultSystemMessage()).isEmpty();
    assertThat(t.render(List.of(new ChatMessage("user", "Hi"))))
        .isEqualTo("<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
  }

  @Test
  void noConfigOrNoTemplateMeansNoChat(@TempDir Path dir) throws Exception {
    assertThat(ChatTemplate.load(dir)).isEmpty();
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"eos_token\":\"</s>\"}");
    assertThat(ChatTemplate.load(dir)).isEmpty();
  }
}
