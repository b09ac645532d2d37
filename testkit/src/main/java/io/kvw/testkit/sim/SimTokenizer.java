package io.kvw.testkit.sim;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

/**
 * The simulator's model tokenizer: a real Hugging Face {@code tokenizer.json} (a small
 * byte-level BPE made by {@code testkit/tools/make_tokenizer.py}), loaded with DJL's binding of
 * the Hugging Face tokenizers library, plus the zip archive {@code GetTokenizer} serves.
 */
public final class SimTokenizer implements AutoCloseable {
  static final String RESOURCE_DIR = "/io/kvw/testkit/sim/tokenizer/";
  static final List<String> FILES = List.of("tokenizer.json", "tokenizer_config.json");

  private static final int RECENT_PROMPTS = 4096;
  private static volatile SimTokenizer shared;

  private final Map<String, int[]> recent = new ConcurrentHashMap<>();

  private final Path directory;
  private final HuggingFaceTokenizer tokenizer;
  private final byte[] zip;
  private final String zipSha256;

  SimTokenizer() {
    try {
      directory = extract();
      tokenizer = HuggingFaceTokenizer.newInstance(directory.resolve("tokenizer.json"),
          Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false",
              "maxLength", "1048576"));
      zip = zip(directory);
      zipSha256 = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(zip));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** One instance for static helpers, loaded on first use and never closed. */
  static SimTokenizer shared() {
    SimTokenizer t = shared;
    if (t == null) {
      synchronized (SimTokenizer.class) {
        t = shared;
        if (t == null) {
          t = new SimTokenizer();
          shared = t;
        }
      }
    }
    return t;
  }

  /**
   * Copies the tokenizer files out of the jar into a fresh directory and returns it: what a
   * worker would read with {@code vllm.tokenizer.path}.
   */
  public static Path extract() throws IOException {
    Path dir = Files.createTempDirectory("kvw-sim-tokenizer");
    dir.toFile().deleteOnExit();
    for (String name : FILES) {
      try (InputStream in = SimTokenizer.class.getResourceAsStream(RESOURCE_DIR + name)) {
        if (in == null) {
          throw new IOException("missing resource " + RESOURCE_DIR + name);
        }
        Files.copy(in, dir.resolve(name));
      }
      dir.resolve(name).toFile().deleteOnExit();
    }
    return dir;
  }

  private static byte[] zip(Path dir) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream out = new ZipOutputStream(bytes)) {
      for (String name : FILES) {
        out.putNextEntry(new ZipEntry(name));
        Files.copy(dir.resolve(name), out);
        out.closeEntry();
      }
    }
    return bytes.toByteArray();
  }

  /**
   * Token ids of a prompt, remembered: benchmarks send the same prompts many times and a DJL
   * encode costs tens of microseconds. The array is shared; callers must not change it.
   */
  int[] encodePrompt(String text) {
    int[] ids = recent.get(text);
    if (ids == null) {
      ids = encode(text);
      if (recent.size() >= RECENT_PROMPTS) {
        recent.clear(); // crude bound; a benchmark's working set refills it at once
      }
      recent.put(text, ids);
    }
    return ids;
  }

  /** Token ids of {@code text}, without special tokens added. */
  public int[] encode(String text) {
    long[] ids = tokenizer.encode(text, false, false).getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (int) ids[i];
    }
    return out;
  }

  public String decode(int[] ids) {
    long[] l = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      l[i] = ids[i];
    }
    return tokenizer.decode(l, true);
  }

  /** The special tokens come last in our tokenizer.json, so the last one bounds the vocab. */
  public int vocabSize() {
    return encodeSpecial("<|im_end|>") + 1;
  }

  /** The id of {@code <|im_end|>}, the model's end-of-sequence token. */
  public int eosTokenId() {
    return encodeSpecial("<|im_end|>");
  }

  private int encodeSpecial(String token) {
    long[] ids = tokenizer.encode(token, false, false).getIds();
    return (int) ids[0];
  }

  byte[] zip() {
    return zip;
  }

  String zipSha256() {
    return zipSha256;
  }

  Path directory() {
    return directory;
  }

  @Override
  public void close() {
    tokenizer.close();
  }
}
