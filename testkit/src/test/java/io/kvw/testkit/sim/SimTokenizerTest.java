package io.kvw.testkit.sim;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.Encoding;
import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The committed tokenizer files, loaded offline by DJL as the worker loads them. */
class SimTokenizerTest {
  private static Path dir;
  private static HuggingFaceTokenizer djl;

  @BeforeAll
  static void load() throws Exception {
    dir = SimTokenizer.extract();
    djl = HuggingFaceTokenizer.newInstance(dir.resolve("tokenizer.json"));
  }

  @AfterAll
  static void close() {
    djl.close();
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "The quick brown fox jumps over the lazy dog.",
      "Numbers 42, 3.14 and 1,000,000; dates 2024-01-15T12:30:45Z.",
      "  leading spaces, double  spaces and a tab\there\nand a new line\n",
      "Crème brûlée, naïve façade, Ångström, Straße, São Paulo",
      "Emoji 😀🎉👍🏽 and a family 👨‍👩‍👧 and flags 🇫🇷",
      "日本語のテキスト, русский текст, ελληνικά, עברית, العربية",
      "snake_case_names and camelCaseNames and {\"json\": [1, 2, null]}",
  })
  void decodeOfEncodeGivesBackTheText(String text) {
    Encoding e = djl.encode(text, false, false);
    assertThat(djl.decode(e.getIds(), true)).isEqualTo(text);
    SimTokenizer sim = SimTokenizer.shared();
    assertThat(sim.decode(sim.encode(text))).isEqualTo(text);
  }

  @Test
  void commonWordsAreSingleTokensAndRareOnesFallBackToBytes() {
    // learned merges: frequent words of the sample text are whole tokens
    assertThat(djl.encode(" the", false, false).getIds()).hasSize(1);
    assertThat(djl.encode(" request", false, false).getIds()).hasSize(1);
    // an unseen word still encodes, in several pieces
    assertThat(djl.encode(" zyxwvq", false, false).getIds().length).isGreaterThan(1);
    // 256 byte tokens + a few thousand merges + the special tokens
    assertThat(SimTokenizer.shared().vocabSize()).isGreaterThan(2000);
  }

  @Test
  void specialTokensAreSingleIdsAndSkippedInDecodedText() {
    SimTokenizer sim = SimTokenizer.shared();
    long[] ids = djl.encode("<|im_start|>user\nHi<|im_end|>", false, false).getIds();
    assertThat(ids[0]).isEqualTo(sim.eosTokenId() - 1);
    assertThat(ids[ids.length - 1]).isEqualTo(sim.eosTokenId());
    assertThat(djl.decode(ids, true)).isEqualTo("user\nHi");
  }

  @Test
  void configCarriesAChatMlTemplateAndTheEosToken() throws Exception {
    String config = Files.readString(dir.resolve("tokenizer_config.json"));
    assertThat(config).contains("\"eos_token\": \"<|im_end|>\"");
    assertThat(config).contains("\"chat_template\"").contains("<|im_start|>",
        "message['role']", "message['content']", "<|im_end|>", "add_generation_prompt");
  }
}
