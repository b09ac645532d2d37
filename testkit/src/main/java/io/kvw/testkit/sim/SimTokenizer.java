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
  static final List<String> FILES = List.of("tokenizer.json", "tokenizer_config.json");

  /** The tokenizers the simulator can serve; same vocabulary, different special tokens. */
  public enum Variant {
    /** Qwen-like: ChatML template, nothing added around a plain text. */
    CHATML("tokenizer", "<|im_end|>", "<|im_end|>"),
    /**
     * Llama-3-like: the post-processor adds {@code <|begin_of_text|>} to every text encoded
     * with special tokens, and the chat template writes {@code {{ bos_token }}} itself.
     */
    LLAMA3("tokenizer-llama3", "<|eot_id|>", "<|eot_id|>");

    final String resourceDir;
    final String eosToken;
    final String lastSpecial;

    Variant(String dir, String eosToken, String lastSpecial) {
      this.resourceDir = "/io/kvw/testkit/sim/" + dir + "/";
      this.eosToken = eosToken;
      this.lastSpecial = lastSpecial;
    }
  }

  private static final int RECENT_PROMPTS = 4096;
  private static volatile SimTokenizer shared;

  private final Map<String, int[]> recent = new ConcurrentHashMap<>();

  private final Variant variant;
  private final Path directory;
  private final HuggingFaceTokenizer tokenizer;
  private final byte[] zip;
  private final String zipSha256;

  SimTokenizer() {
    this(Variant.CHATML);
  }

  SimTokenizer(Variant variant) {
    this.variant = variant;
    try {
      directory = extract(variant);
      tokenizer = HuggingFaceTokenizer.newInstance(directory.resolve("tokenizer.json"),
          Map.of("addSpecialTokens", "false", "truncation", "false", "padding", "false",
              "maxLength", "1048576"));
      zip = zip(directory);
      zipSha256 = sha256(zip);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
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
    return extract(Variant.CHATML);
  }

  /** {@link #extract()} for one variant. */
  public static Path extract(Variant variant) throws IOException {
    Path dir = Files.createTempDirectory("kvw-sim-tokenizer");
    dir.toFile().deleteOnExit();
    for (String name : FILES) {
      String resource = variant.resourceDir + name;
      try (InputStream in = SimTokenizer.class.getResourceAsStream(resource)) {
        if (in == null) {
          throw new IOException("missing resource " + resource);
        }
        Files.copy(in, dir.resolve(name));
      }
      dir.resolve(name).toFile().deleteOnExit();
    }
    return dir;
  }

  private static byte[] zip(Path dir) throws IOException {
    return zip(dir, Map.of());
  }

  /** The tokenizer files plus {@code extra} (name to content), as GetTokenizer's archive. */
  private static byte[] zip(Path dir, Map<String, byte[]> extra) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    try (ZipOutputStream out = new ZipOutputStream(bytes)) {
      for (String name : FILES) {
        out.putNextEntry(new ZipEntry(name));
        Files.copy(dir.resolve(name), out);
        out.closeEntry();
      }
      for (Map.Entry<String, byte[]> e : extra.entrySet()) {
        out.putNextEntry(new ZipEntry(e.getKey()));
        out.write(e.getValue());
        out.closeEntry();
      }
    }
    return bytes.toByteArray();
  }

  /** A GetTokenizer archive and its SHA-256 (hex), as sent on the last chunk. */
  record Archive(byte[] bytes, String sha256) {}

  /**
   * GetTokenizer's archive with the model's {@code config.json} beside the tokenizer files,
   * as vLLM's servicer bundles it.
   */
  Archive archiveWithConfig(byte[] configJson) {
    try {
      byte[] z = zip(directory, Map.of("config.json", configJson));
      return new Archive(z, sha256(z));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Token ids of a prompt, remembered: benchmarks send the same prompts many times and a DJL
   * encode costs tens of microseconds. The array is shared; callers must not change it.
   */
  int[] encodePrompt(String text) {
    int[] ids = recent.get(text);
    if (ids == null) {
      ids = encode(text, true); // text input: vLLM tokenizes with the special tokens
      if (recent.size() >= RECENT_PROMPTS) {
        recent.clear(); // crude bound; a benchmark's working set refills it at once
      }
      recent.put(text, ids);
    }
    return ids;
  }

  /** Token ids of {@code text}, without special tokens added. */
  public int[] encode(String text) {
    return encode(text, false);
  }

  /** Token ids of {@code text}; with {@code addSpecialTokens} as the post-processor says. */
  public int[] encode(String text, boolean addSpecialTokens) {
    long[] ids = tokenizer.encode(text, addSpecialTokens, false).getIds();
    int[] out = new int[ids.length];
    for (int i = 0; i < ids.length; i++) {
      out[i] = (int) ids[i];
    }
    return out;
  }

  public String decode(int[] ids) {
    return decode(ids, true);
  }

  /** The text of {@code ids}; special tokens left out when {@code skipSpecial}. */
  public String decode(int[] ids, boolean skipSpecial) {
    long[] l = new long[ids.length];
    for (int i = 0; i < ids.length; i++) {
      l[i] = ids[i];
    }
    return tokenizer.decode(l, skipSpecial);
  }

  public Variant variant() {
    return variant;
  }

  /** The special tokens come last in our tokenizer.json, so the last one bounds the vocab. */
  public int vocabSize() {
    return encodeSpecial(variant.lastSpecial) + 1;
  }

  /** The id of the model's end-of-sequence token ({@code <|im_end|>}, {@code <|eot_id|>}). */
  public int eosTokenId() {
    return encodeSpecial(variant.eosToken);
  }

  /** The id of a special token, e.g. {@code <|begin_of_text|>}. */
  public int encodeSpecial(String token) {
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
