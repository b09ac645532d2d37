package io.kvw.worker.backend.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Turns vLLM's output token ids into text with the model's own Hugging Face tokenizer (DJL's
 * binding of the Rust tokenizers library). Thread-safe: one instance serves every call.
 *
 * <p>Offline by construction: the tokenizer is read from a local {@code tokenizer.json}, and
 * the native library comes out of the DJL jar (it carries linux-x86_64, linux-aarch64 and
 * osx-aarch64) into DJL's cache directory ({@code ENGINE_CACHE_DIR} or {@code DJL_CACHE_DIR},
 * else {@code ~/.djl.ai}, else the temp directory when home is not writable). Nothing is
 * downloaded; {@code ai.djl.offline} is set too, so no DJL code path may try.
 */
public final class TokenDecoder implements AutoCloseable {
  static {
    if (System.getProperty("ai.djl.offline") == null) {
      System.setProperty("ai.djl.offline", "true");
    }
  }

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
    HuggingFaceTokenizer t;
    try {
      t = HuggingFaceTokenizer.newInstance(file, Map.of(
          "addSpecialTokens", "false", "truncation", "false", "padding", "false",
          "maxLength", "1048576"));
    } catch (RuntimeException e) {
      throw new IOException("cannot load the tokenizer " + file + ": " + e.getMessage(), e);
    }
    return new TokenDecoder(t, file.toAbsolutePath().getParent());
  }

  /** The text of {@code ids}, special tokens (end of sequence and the like) left out. */
  public String decode(int[] ids) {
    return decode(ids, 0, ids.length);
  }

  /** The text of {@code ids[from..to)}, special tokens left out. */
  public String decode(int[] ids, int from, int to) {
    if (from >= to) {
      return "";
    }
    long[] l = new long[to - from];
    for (int i = from; i < to; i++) {
      l[i - from] = ids[i] & 0xFFFFFFFFL; // uint32 on the wire
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
