package io.kvw.worker.backend.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvw.common.Decoded;
import io.kvw.common.InferenceRequest;
import io.kvw.common.RecordSource;
import io.kvw.common.RequestCodec;
import io.kvw.common.RequestLimits;
import io.kvw.testkit.sim.SimTokenizer;
import io.kvw.worker.backend.Prompt;
import io.kvw.worker.backend.PromptPreparer.InvalidPromptException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Optional;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Prompt preparation's own rules: truncation and vLLM's context-length checks. */
class PromptEncoderTest {
  private static Path dir;
  private static TokenDecoder tokenizer;
  private final RequestCodec codec = new RequestCodec(RequestLimits.defaults());

  @BeforeAll
  static void load() throws Exception {
    dir = SimTokenizer.extract();
    tokenizer = TokenDecoder.load(dir);
  }

  @AfterAll
  static void close() {
    tokenizer.close();
  }

  private InferenceRequest request(String json) {
    Decoded d = codec.decode(json.getBytes(StandardCharsets.UTF_8), new RecordSource("t", 0, 0),
        0);
    return ((Decoded.Accepted) d).request();
  }

  private static String words(int n) {
    return "word ".repeat(n).strip();
  }

  @Test
  void truncatePromptTokensKeepsTheLastTokens() throws Exception {
    PromptEncoder encoder = new PromptEncoder(tokenizer, Optional.empty(), 64);
    int[] all = tokenizer.encode(words(20), true);
    Prompt p = encoder.prepare(request("{\"prompt\":\"" + words(20)
        + "\",\"params\":{\"truncate_prompt_tokens\":5}}"));
    assertThat(p.ids()).isEqualTo(Arrays.copyOfRange(all, all.length - 5, all.length));
    // -1: as many as the context allows; this prompt is longer than that
    PromptEncoder small = new PromptEncoder(tokenizer, Optional.empty(), 8);
    assertThatThrownBy(() -> small.prepare(request("{\"prompt\":\"" + words(20)
        + "\",\"params\":{\"truncate_prompt_tokens\":-1}}")))
        .hasMessageContaining("maximum context length is 8 tokens. However, your request has "
            + "8 input tokens");
  }

  @Test
  void vllmsLengthRulesWithItsWording() throws Exception {
    int tokens = tokenizer.encode(words(10), true).length;
    PromptEncoder encoder = new PromptEncoder(tokenizer, Optional.empty(), tokens + 4);
    assertThat(encoder.prepare(request("{\"prompt\":\"" + words(10)
        + "\",\"params\":{\"max_tokens\":4}}")).tokens()).isEqualTo(tokens);
    assertThatThrownBy(() -> encoder.prepare(request("{\"prompt\":\"" + words(10)
        + "\",\"params\":{\"max_tokens\":5}}")))
        .isInstanceOf(InvalidPromptException.class)
        .hasMessage("'max_tokens' is too large: 5. This model's maximum context length is "
            + (tokens + 4) + " tokens and your request has " + tokens + " input tokens (5 > "
            + (tokens + 4) + " - " + tokens + ").");
    PromptEncoder exact = new PromptEncoder(tokenizer, Optional.empty(), tokens);
    assertThatThrownBy(() -> exact.prepare(request("{\"prompt\":\"" + words(10) + "\"}")))
        .hasMessageContaining("However, your request has " + tokens + " input tokens");
    // a server that does not say its context length: lengths are left to it
    assertThat(new PromptEncoder(tokenizer, Optional.empty(), 0).prepare(request(
        "{\"prompt\":\"" + words(10) + "\"}")).tokens()).isEqualTo(tokens);
  }

  @Test
  void aChatWithoutATemplateIsRefused() {
    PromptEncoder encoder = new PromptEncoder(tokenizer, Optional.empty(), 64);
    assertThatThrownBy(() -> encoder.prepare(request(
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")))
        .isInstanceOf(InvalidPromptException.class)
        .hasMessageContaining("no chat template");
  }
}
