package io.kvw.worker.backend.tokenizer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.junit.jupiter.api.Test;

class TokenizerFetcherTest {

  private static byte[] zip(String... namesAndContents) throws Exception {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream out = new ZipOutputStream(bytes)) {
      for (int i = 0; i < namesAndContents.length; i += 2) {
        out.putNextEntry(new ZipEntry(namesAndContents[i]));
        out.write(namesAndContents[i + 1].getBytes(StandardCharsets.UTF_8));
        out.closeEntry();
      }
    }
    return bytes.toByteArray();
  }

  private static String sha256(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b));
  }

  @Test
  void aVerifiedArchiveIsUnpacked() throws Exception {
    byte[] zip = zip("tokenizer.json", "{}", "tokenizer_config.json", "{\"a\":1}");
    Path dir = TokenizerFetcher.unpack(zip, sha256(zip));
    assertThat(Files.readString(dir.resolve("tokenizer_config.json"))).isEqualTo("{\"a\":1}");
  }

  @Test
  void aChecksumMismatchIsRefused() throws Exception {
    byte[] zip = zip("tokenizer.json", "{}");
    assertThatThrownBy(() -> TokenizerFetcher.unpack(zip, sha256("other".getBytes())))
        .hasMessageContaining("SHA-256 mismatch");
    assertThatThrownBy(() -> TokenizerFetcher.unpack(zip, ""))
        .hasMessageContaining("without its SHA-256");
  }

  @Test
  void entriesThatEscapeTheDirectoryAreRefused() throws Exception {
    byte[] zip = zip("../../evil.json", "{}", "tokenizer.json", "{}");
    assertThatThrownBy(() -> TokenizerFetcher.unpack(zip, sha256(zip)))
        .hasMessageContaining("escapes its directory");
  }

  @Test
  void anArchiveWithoutTokenizerJsonIsRefused() throws Exception {
    byte[] zip = zip("vocab.txt", "a");
    assertThatThrownBy(() -> TokenizerFetcher.unpack(zip, sha256(zip)))
        .hasMessageContaining("no tokenizer.json");
  }

  @Test
  void chatTemplatesAreRecognisedByFamily() throws Exception {
    Path dir = Files.createTempDirectory("tpl");
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\":\"{% for m in "
        + "messages %}<|start_header_id|>{{ m.role }}<|end_header_id|>{% endfor %}\","
        + "\"bos_token\":\"<|begin_of_text|>\"}");
    ChatTemplate llama = ChatTemplate.load(dir).orElseThrow();
    assertThat(llama.render(java.util.List.of(new io.kvw.common.ChatMessage("user", "Hi "))))
        .isEqualTo("<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>"
            + "<|start_header_id|>assistant<|end_header_id|>\n\n");
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\":\"[INST]\"}");
    assertThat(ChatTemplate.load(dir)).isEmpty();
  }
}
