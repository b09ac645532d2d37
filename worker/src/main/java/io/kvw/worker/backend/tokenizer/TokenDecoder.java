package io.kvw.worker.backend.tokenizer;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Turns vLLM's output token ids into text with the model's own Hugging Face tokenizer (DJL's
 * binding of the Rust tokenizers library), and prompts into token ids (the worker sends vLLM
 * tokenized input, as the smg router does). Thread-safe: one instance serves every call.
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
    return decode(ids, from, to, true);
  }

  /** The text of {@code ids[from..to)}; special tokens left out when {@code skipSpecial}. */
  public String decode(int[] ids, int from, int to, boolean skipSpecial) {
    if (from >= to) {
      return "";
    }
    long[] l = new long[to - from];
    for (int i = from; i < to; i++) {
      l[i - from] = ids[i] & 0xFFFFFFFFL; // uint32 on the wire
    }
    return tokenizer.decode(l, skipSpecial);
  }

  /**
   * One token's text on its own, special or not: what vLLM's OpenAI server shows as a
   * log probability's {@code token}.
   */
  public String tokenText(int id) {
    return tokenizer.decode(new long[] {id & 0xFFFFFFFFL}, false);
  }

  /**
   * The token ids of {@code text}. With {@code addSpecialTokens} the tokenizer's
   * post-processor adds what the model expects around a plain text (a BOS for Llama-style
   * tokenizers), as vLLM's completions endpoint does; a rendered chat template already wrote
   * them, so chat prompts are encoded without.
   */
  public int[] encode(String text, boolean addSpecialTokens) {
    // only the ids: DJL's encode(...) also copies out the tokens as strings, their character
    // spans, masks and type ids (eight native calls and their arrays per prompt; a profile put
    // them at a tenth of the worker's allocation), none of which a prompt needs. The text goes
    // to the native tokenizer as it is, as DJL's encode passes it for a tokenizer loaded
    // without doLowerCase or stripAccents, which load() never sets.
    long encoding = TokenizersLibrary.LIB.encode(tokenizer.getHandle(), text, addSpecialTokens);
    try {
      long[] ids = TokenizersLibrary.LIB.getTokenIds(encoding);
      int[] out = new int[ids.length];
      for (int i = 0; i < ids.length; i++) {
        out[i] = (int) ids[i];
      }
      return out;
    } finally {
      TokenizersLibrary.LIB.deleteEncoding(encoding);
    }
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
