package io.kvw.worker.backend.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Turns vLLM's output token ids into text with the model's own Hugging Face tokenizer (DJL's
 * binding of the Rust tokenizers library, which works offline). Thread-safe.
 */
public final class TokenDecoder implements AutoCloseable {
  private final HuggingFaceTokenizer tokenizer;
  private final Path directory;

  private TokenDecoder(HuggingFaceTokenizer tokenizer, Path directory) {
    this.tokenizer = tokenizer;
    this.directory = directory;
  }

  /** Loads {@code tokenizer.json} from a file, or from a directory that holds one. */
  public static TokenDecoder load(Path path) throws IOException {
    Path file = Files.isDirectory(path) ? path.resolve("tokenizer.json") : path;
    if (!Files.isRegularFile(file)) {
      throw new IOException("no tokenizer.json at " + path);
    }
    // no truncation or padding: we only decode, and every id must come back as text
    HuggingFaceTokenizer t = HuggingFaceTokenizer.newInstance(file, Map.of(
        "addSpecialTokens", "false", "truncation", "false", "padding", "false",
        "maxLength", "1048576"));
    return new TokenDecoder(t, file.getParent());
  }

  /** The text of {@code ids}, special tokens (end of sequence and the like) left out. */
  public String decode(int[] ids) {
    long[] l = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      l[i] = ids[i] & 0xFFFFFFFFL; // uint32 on the wire
    }
    return tokenizer.decode(l, true);
  }

  /** The directory of tokenizer.json, where tokenizer_config.json lives too. */
  public Path directory() {
    return directory;
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
