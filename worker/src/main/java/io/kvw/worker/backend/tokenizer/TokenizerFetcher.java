package io.kvw.worker.backend.tokenizer;

import io.grpc.Channel;
import io.grpc.Context;
import io.grpc.StatusRuntimeException;
import io.kvw.proto.common.GetTokenizerChunk;
import io.kvw.proto.common.GetTokenizerRequest;
import io.kvw.proto.vllm.VllmEngineGrpc;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;

/**
 * Fetches the model's tokenizer from vLLM ({@code GetTokenizer}): the chunks concatenate to a
 * zip of the tokenizer directory, whose SHA-256 comes on the last chunk. The archive is
 * verified, then unpacked into a fresh directory with every entry checked to stay inside it.
 */
public final class TokenizerFetcher {
  /** Tokenizer directories are megabytes; this only stops a runaway server. */
  static final long MAX_ARCHIVE_BYTES = 512L * 1024 * 1024;

  private TokenizerFetcher() {}

  /**
   * Downloads, verifies and unpacks; returns the directory holding {@code tokenizer.json}.
   * Blocks (start-up only). A server without {@code GetTokenizer} fails with a message that
   * names the alternative, {@code vllm.tokenizer.path}.
   */
  public static Path fetch(Channel channel, Duration timeout) throws IOException {
    // a cancellable context, so an archive we stop reading does not keep the call open
    Context.CancellableContext call = Context.current().withCancellation();
    Context previous = call.attach();
    try {
      ByteArrayOutputStream zip = new ByteArrayOutputStream();
      String sha256 = "";
      Iterator<GetTokenizerChunk> chunks = VllmEngineGrpc.newBlockingStub(channel)
          .withDeadlineAfter(timeout.toMillis(), TimeUnit.MILLISECONDS)
          .getTokenizer(GetTokenizerRequest.getDefaultInstance());
      while (chunks.hasNext()) {
        GetTokenizerChunk chunk = chunks.next();
        if (zip.size() + (long) chunk.getData().size() > MAX_ARCHIVE_BYTES) {
          throw new IOException("tokenizer archive over " + MAX_ARCHIVE_BYTES + " bytes");
        }
        chunk.getData().writeTo(zip);
        if (!chunk.getSha256().isEmpty()) {
          sha256 = chunk.getSha256();
        }
      }
      return unpack(zip.toByteArray(), sha256);
    } catch (StatusRuntimeException e) {
      throw new IOException("cannot fetch the tokenizer with GetTokenizer (" + e.getStatus()
          .getCode() + (e.getStatus().getDescription() == null ? "" : ": "
          + e.getStatus().getDescription()) + "); set vllm.tokenizer.path to the model's "
          + "tokenizer directory instead", e);
    } finally {
      call.detach(previous);
      call.cancel(null);
    }
  }

  /** Verifies {@code archive} against {@code sha256} (hex) and unpacks it. */
  static Path unpack(byte[] archive, String sha256) throws IOException {
    return unpack(archive, sha256, MAX_ARCHIVE_BYTES);
  }

  /** As {@link #unpack(byte[], String)}, refusing to write more than {@code maxBytes}. */
  static Path unpack(byte[] archive, String sha256, long maxBytes) throws IOException {
    if (sha256.isEmpty()) {
      throw new IOException("the tokenizer archive came without its SHA-256");
    }
    String actual;
    try {
      actual = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(archive));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    if (!actual.equalsIgnoreCase(sha256)) {
      throw new IOException("tokenizer archive SHA-256 mismatch: expected " + sha256 + ", got "
          + actual);
    }
    Path dir = Files.createTempDirectory("kvw-tokenizer").toAbsolutePath();
    try {
      long total = 0;
      try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(archive))) {
        for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
          Path target = dir.resolve(e.getName()).normalize();
          if (!target.startsWith(dir) || target.equals(dir)) {
            throw new IOException("tokenizer archive entry escapes its directory: "
                + e.getName());
          }
          if (e.isDirectory()) {
            Files.createDirectories(target);
            continue;
          }
          Files.createDirectories(target.getParent());
          total += copy(in, target, maxBytes - total, maxBytes);
        }
      }
      if (!Files.isRegularFile(dir.resolve("tokenizer.json"))) {
        throw new IOException("the tokenizer archive has no tokenizer.json");
      }
      return dir;
    } catch (IOException | RuntimeException e) {
      deleteQuietly(dir); // nothing half-unpacked stays behind
      throw e;
    }
  }

  /** Copies one entry; the declared size is not trusted, the bytes written are counted. */
  private static long copy(InputStream in, Path target, long budget, long maxBytes)
      throws IOException {
    long n = 0;
    byte[] buf = new byte[64 * 1024];
    try (OutputStream out = Files.newOutputStream(target)) {
      for (int r; (r = in.read(buf)) > 0; ) {
        n += r;
        if (n > budget) {
          throw new IOException("tokenizer archive unpacks to over " + maxBytes + " bytes");
        }
        out.write(buf, 0, r);
      }
    }
    return n;
  }

  private static void deleteQuietly(Path dir) {
    try (var paths = Files.walk(dir)) {
      paths.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException | RuntimeException ignored) {
      // a temp directory left behind is harmless
    }
  }
}
