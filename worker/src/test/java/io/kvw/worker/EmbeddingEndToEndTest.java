package io.kvw.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import io.kvw.common.DlqHeaders;
import io.kvw.common.InferenceResult;
import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.backend.EmbeddingModel;
import io.kvw.worker.backend.VllmBackendFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.Test;

/**
 * Embedding requests through the whole worker: the embedded KRaft broker, the worker, and the
 * simulator serving an embedding model over loopback gRPC.
 */
class EmbeddingEndToEndTest {
  private static final int DIM = 8;

  @Test
  void embeddingRequestsGetTheModelsVectorsAndGenerationRequestsAreRefused() {
    PipelineHarness h = PipelineHarness.create("embed", 2);
    try (VllmSimulator vllm = VllmSimulator.builder().modelName("sim-embed").embeddingDim(DIM)
        .matryoshka(true).timeToFirstToken(Duration.ofMillis(5)).build().start();
        Worker worker = Worker.start(h.config(vllm.target(), Map.of()),
            new VllmBackendFactory());
        PipelineHarness.Reader reader = h.reader()) {
      // a fault first: the first two Embed calls fail as a restarting server's would; the
      // request waits out the outage and is answered, never dead-lettered
      vllm.faults().failNext(Status.Code.UNAVAILABLE, 2);
      h.produce(List.of(h.record("k-retry", "{\"id\": \"e-retry\", \"input\": \"again\"}")));
      reader.readUntil(() -> reader.count(h.results) >= 1, Duration.ofSeconds(60));
      InferenceResult retried = reader.results().get(0);
      assertThat(retried.isError()).as("%s", retried.error()).isFalse();
      assertThat(retried.attempts()).isEqualTo(3);
      assertThat(retried.embeddings().get(0).vector()).containsExactly(expected(vllm, "again"));

      h.produce(List.of(
          h.record("k-one", "{\"id\": \"e-one\", \"input\": \"hello world\", "
              + "\"metadata\": {\"tenant\": \"acme\"}}"),
          h.record("k-many", "{\"id\": \"e-many\", \"input\": [\"alpha\", \"beta\", "
              + "\"gamma\"]}"),
          h.record("k-ids", "{\"id\": \"e-ids\", \"input\": [[11, 12, 13], [14]]}"),
          h.record("k-dims", "{\"id\": \"e-dims\", \"input\": \"hello world\", "
              + "\"dimensions\": 3}"),
          h.record("k-gen", "{\"id\": \"e-gen\", \"prompt\": \"write a poem\"}")));
      reader.readUntil(() -> reader.count(h.results) >= 6 && reader.count(h.dlq) >= 1,
          Duration.ofSeconds(60)).settle(Duration.ofSeconds(1));
      Map<String, InferenceResult> byId = reader.results().stream()
          .collect(Collectors.toMap(InferenceResult::id, Function.identity()));
      assertThat(byId).hasSize(6);

      InferenceResult one = byId.get("e-one");
      assertThat(one.model()).isEqualTo("sim-embed");
      assertThat(one.embeddings()).hasSize(1);
      assertThat(one.embeddings().get(0).vector()).containsExactly(expected(vllm,
          "hello world"));
      assertThat(one.usage().promptTokens()).isEqualTo(tokens(vllm, "hello world"));
      assertThat(one.usage().completionTokens()).isZero();
      assertThat(one.metadata().get("tenant").asText()).isEqualTo("acme");

      InferenceResult many = byId.get("e-many");
      assertThat(many.embeddings()).extracting(e -> e.index()).containsExactly(0, 1, 2);
      List<String> texts = List.of("alpha", "beta", "gamma");
      for (int i = 0; i < 3; i++) {
        assertThat(many.embeddings().get(i).vector()).containsExactly(expected(vllm,
            texts.get(i)));
      }
      assertThat(many.usage().promptTokens()).isEqualTo(texts.stream()
          .mapToInt(t -> tokens(vllm, t)).sum());

      InferenceResult ids = byId.get("e-ids");
      assertThat(ids.embeddings().get(0).vector()).containsExactly(
          VllmSimulator.expectedEmbedding(new int[] {11, 12, 13}, DIM));
      assertThat(ids.embeddings().get(1).vector()).containsExactly(
          VllmSimulator.expectedEmbedding(new int[] {14}, DIM));
      assertThat(ids.usage().promptTokens()).isEqualTo(4);

      float[] cut = byId.get("e-dims").embeddings().get(0).vector();
      assertThat(cut).containsExactly(EmbeddingModel.shorten(expected(vllm, "hello world"), 3));
      assertThat(cut[0] * cut[0] + cut[1] * cut[1] + cut[2] * cut[2]).isCloseTo(1f,
          org.assertj.core.data.Offset.offset(1e-5f));

      assertRefused(h, reader, byId.get("e-gen"), "k-gen", "cannot generate");
      assertThat(vllm.calls().forRequest("e-gen")).as("nothing was sent for it").isEmpty();
      assertThat(reader.count(h.dlq)).isEqualTo(1);
    }
  }

  @Test
  void anEmbeddingRequestToAGenerationModelIsRefused() {
    PipelineHarness h = PipelineHarness.create("embed-to-gen", 1);
    try (VllmSimulator vllm = VllmSimulator.builder().build().start();
        Worker worker = Worker.start(h.config(vllm.target(), Map.of()),
            new VllmBackendFactory());
        PipelineHarness.Reader reader = h.reader()) {
      h.produce(List.of(h.record("k-emb", "{\"id\": \"g-emb\", \"input\": [\"a\", \"b\"]}"),
          h.record("k-gen", PipelineHarness.request("g-gen", "still served", ""))));
      reader.readUntil(() -> reader.count(h.results) >= 2 && reader.count(h.dlq) >= 1,
          Duration.ofSeconds(60)).settle(Duration.ofSeconds(1));
      Map<String, InferenceResult> byId = reader.results().stream()
          .collect(Collectors.toMap(InferenceResult::id, Function.identity()));
      assertRefused(h, reader, byId.get("g-emb"), "k-emb", "cannot embed");
      assertThat(byId.get("g-gen").text()).isEqualTo("still served");
      assertThat(reader.count(h.dlq)).isEqualTo(1);
      assertThat(vllm.calls().forRequest("g-emb")).isEmpty();
    }
  }

  /** An invalid_request result naming the mismatch, and the record byte for byte in the DLQ. */
  private static void assertRefused(PipelineHarness h, PipelineHarness.Reader reader,
      InferenceResult result, String key, String message) {
    assertThat(result.isError()).isTrue();
    assertThat(result.error().type().wireName()).isEqualTo("invalid_request");
    assertThat(result.error().message()).contains(message);
    ConsumerRecord<byte[], byte[]> dead = reader.on(h.dlq).stream()
        .filter(r -> new String(r.key(), StandardCharsets.UTF_8).equals(key)).findFirst()
        .orElseThrow();
    Header type = dead.headers().lastHeader(DlqHeaders.ERROR_TYPE);
    assertThat(new String(type.value(), StandardCharsets.UTF_8)).isEqualTo("invalid_request");
  }

  private static float[] expected(VllmSimulator vllm, String text) {
    return VllmSimulator.expectedEmbedding(vllm.tokenizer().encode(text, true), DIM);
  }

  private static int tokens(VllmSimulator vllm, String text) {
    return vllm.tokenizer().encode(text, true).length;
  }
}
