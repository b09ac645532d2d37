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
  void anArchiveThatUnpacksPastTheCapIsRefused() throws Exception {
    // 4 MiB of one byte deflates to a few KiB: the cap counts what is written, not the zip
    byte[] zip = zip("tokenizer.json", "a".repeat(4 * 1024 * 1024));
    assertThat(zip.length).isLessThan(64 * 1024);
    assertThatThrownBy(() -> TokenizerFetcher.unpack(zip, sha256(zip), 1024 * 1024))
        .hasMessageContaining("unpacks to over 1048576 bytes");
  }

  @Test
  void anAbsoluteEntryIsRefused() throws Exception {
    byte[] zip = zip("/tmp/evil.json", "{}", "tokenizer.json", "{}");
    assertThatThrownBy(() -> TokenizerFetcher.unpack(zip, sha256(zip)))
        .hasMessageContaining("escapes its directory");
  }

  /** A server whose GetTokenizer streams {@code archive} in three chunks. */
  private static io.grpc.Server serve(String name, byte[] archive, String sha256,
      io.grpc.Status failure) throws Exception {
    return io.grpc.inprocess.InProcessServerBuilder.forName(name).directExecutor()
        .addService(new io.kvw.proto.vllm.VllmEngineGrpc.VllmEngineImplBase() {
          @Override
          public void getTokenizer(io.kvw.proto.common.GetTokenizerRequest request,
              io.grpc.stub.StreamObserver<io.kvw.proto.common.GetTokenizerChunk> out) {
            if (failure != null) {
              out.onError(failure.asRuntimeException());
              return;
            }
            int third = archive.length / 3;
            int[] cuts = {0, third, 2 * third, archive.length};
            for (int i = 0; i < 3; i++) {
              var chunk = io.kvw.proto.common.GetTokenizerChunk.newBuilder().setData(
                  com.google.protobuf.ByteString.copyFrom(archive, cuts[i], cuts[i + 1]
                      - cuts[i]));
              if (i == 2) {
                chunk.setSha256(sha256); // on the last chunk only, as vLLM sends it
              }
              out.onNext(chunk.build());
            }
            out.onCompleted();
          }
        }).build().start();
  }

  private static Path fetch(String name) throws Exception {
    var channel = io.grpc.inprocess.InProcessChannelBuilder.forName(name).directExecutor()
        .build();
    try {
      return TokenizerFetcher.fetch(channel, java.time.Duration.ofSeconds(5));
    } finally {
      channel.shutdownNow();
    }
  }

  @Test
  void theTokenizerIsFetchedInChunksVerifiedAndUsable() throws Exception {
    Path sim = io.kvw.testkit.sim.SimTokenizer.extract();
    byte[] zip = zip("tokenizer.json", Files.readString(sim.resolve("tokenizer.json")),
        "tokenizer_config.json", Files.readString(sim.resolve("tokenizer_config.json")));
    io.grpc.Server server = serve("tok-ok", zip, sha256(zip), null);
    try (TokenDecoder decoder = TokenDecoder.load(fetch("tok-ok"))) {
      assertThat(Files.readString(decoder.directory().resolve("tokenizer_config.json")))
          .contains("chat_template");
      try (var encoder = ai.djl.huggingface.tokenizers.HuggingFaceTokenizer.newInstance(
          sim.resolve("tokenizer.json"), java.util.Map.of("addSpecialTokens", "false"))) {
        long[] ids = encoder.encode("Grüße, 世界!").getIds();
        int[] asInts = java.util.Arrays.stream(ids).mapToInt(l -> (int) l).toArray();
        assertThat(decoder.decode(asInts)).isEqualTo("Grüße, 世界!");
      }
    } finally {
      server.shutdownNow();
    }
  }

  @Test
  void aFetchedArchiveWithTheWrongChecksumIsRefused() throws Exception {
    byte[] zip = zip("tokenizer.json", "{}");
    io.grpc.Server server = serve("tok-bad", zip, sha256(new byte[] {1}), null);
    try {
      assertThatThrownBy(() -> fetch("tok-bad")).hasMessageContaining("SHA-256 mismatch");
    } finally {
      server.shutdownNow();
    }
  }

  @Test
  void aServerWithoutGetTokenizerNamesTheConfigKeyToUseInstead() throws Exception {
    io.grpc.Server server = serve("tok-none", new byte[0], "", io.grpc.Status.UNIMPLEMENTED);
    try {
      assertThatThrownBy(() -> fetch("tok-none")).hasMessageContaining("UNIMPLEMENTED")
          .hasMessageContaining("vllm.tokenizer.path");
    } finally {
      server.shutdownNow();
    }
  }
}
