package io.kvw.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.kvw.client.InferenceClient;
import io.kvw.common.InferenceRequest;
import io.kvw.common.InferenceResult;
import io.kvw.common.SamplingParams;
import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.backend.VllmBackendFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link InferenceClient} against the real pipeline: the embedded broker, a worker and the
 * vLLM simulator on loopback.
 */
class InferenceClientTest {
  private VllmSimulator vllm;

  @AfterEach
  void stopSimulator() {
    if (vllm != null) {
      vllm.close();
    }
  }

  private InferenceClient client(PipelineHarness h, int maxOutstanding, Duration timeout) {
    return InferenceClient.builder()
        .bootstrapServers(PipelineHarness.kafka().bootstrapServers())
        .requestsTopic(h.requests)
        .resultsTopic(h.results)
        .maxOutstanding(maxOutstanding)
        .timeout(timeout)
        .build();
  }

  private static InferenceRequest request(String id, String prompt) {
    SamplingParams params = SamplingParams.builder().maxTokens(8).build();
    return new InferenceRequest(id, null, prompt, null, params, null, false, null);
  }

  @Test
  void fourClientsSharingOneResultsTopicEachGetTheirOwnFiveThousandResults() throws Exception {
    PipelineHarness h = PipelineHarness.create("client-4x", 3);
    vllm = VllmSimulator.builder().modelName("sim-model").timeToFirstToken(Duration.ofMillis(2))
        .timePerOutputToken(Duration.ZERO).maxNumSeqs(256).build().start();
    int clients = 4;
    int perClient = 1_250;
    AtomicInteger completions = new AtomicInteger();
    List<InferenceClient> instances = new ArrayList<>();
    ExecutorService senders = Executors.newFixedThreadPool(clients);
    try (Worker worker = Worker.start(h.config(vllm.target(), Map.of()),
        new VllmBackendFactory())) {
      for (int c = 0; c < clients; c++) {
        instances.add(client(h, 200, Duration.ofMinutes(2)));
      }
      List<Future<List<CompletableFuture<InferenceResult>>>> sent = new ArrayList<>();
      for (int c = 0; c < clients; c++) {
        InferenceClient client = instances.get(c);
        int cc = c;
        sent.add(senders.submit(() -> {
          List<CompletableFuture<InferenceResult>> futures = new ArrayList<>();
          for (int i = 0; i < perClient; i++) {
            CompletableFuture<InferenceResult> f = client.submit(request("c" + cc + "-" + i,
                "client " + cc + " prompt " + i));
            f.whenComplete((r, e) -> completions.incrementAndGet());
            futures.add(f);
          }
          return futures;
        }));
      }
      for (int c = 0; c < clients; c++) {
        List<CompletableFuture<InferenceResult>> futures = sent.get(c).get(3, TimeUnit.MINUTES);
        assertThat(futures).hasSize(perClient);
        for (int i = 0; i < perClient; i++) {
          InferenceResult r = futures.get(i).get(2, TimeUnit.MINUTES);
          assertThat(r.id()).isEqualTo("c" + c + "-" + i);
          assertThat(r.isError()).as("error %s", r.error()).isFalse();
          assertThat(r.text()).isEqualTo(vllm.expectedEchoText("client " + c + " prompt " + i,
              8));
        }
      }
      // each future completed exactly once; nothing left waiting in any client (the
      // bookkeeping callbacks may still be running when get() returns)
      await().atMost(Duration.ofSeconds(10)).until(() -> instances.stream()
          .allMatch(c -> c.outstanding() == 0) && completions.get() >= clients * perClient);
      assertThat(completions.get()).isEqualTo(clients * perClient);
    } finally {
      senders.shutdownNow();
      instances.forEach(InferenceClient::close);
    }
  }

  @Test
  void aRequestWithoutAResultFailsWithATimeoutAndSubmitBlocksAtTheBound() throws Exception {
    PipelineHarness h = PipelineHarness.create("client-timeout", 1);
    // no worker: nothing ever answers
    try (InferenceClient client = client(h, 2, Duration.ofMillis(1500))) {
      CompletableFuture<InferenceResult> first = client.submit(request("t-1", "one"));
      client.submit(request("t-2", "two"));
      long start = System.nanoTime();
      CompletableFuture<InferenceResult> third = client.submit(request("t-3", "three"));
      long blockedMs = (System.nanoTime() - start) / 1_000_000;
      // the third submit waited for a slot, freed when the first two timed out
      assertThat(blockedMs).isGreaterThanOrEqualTo(1_000);
      assertThatThrownBy(() -> first.get(5, TimeUnit.SECONDS))
          .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(TimeoutException.class);
      assertThatThrownBy(() -> third.get(5, TimeUnit.SECONDS))
          .hasCauseInstanceOf(TimeoutException.class);
      await().atMost(Duration.ofSeconds(5)).until(() -> client.outstanding() == 0);
    }
  }

  @Test
  void rawRequestsAreCorrelatedByTheirIdAndResultsForOthersAreIgnored() throws Exception {
    PipelineHarness h = PipelineHarness.create("client-raw", 2);
    vllm = VllmSimulator.builder().modelName("sim-model").timeToFirstToken(Duration.ofMillis(2))
        .timePerOutputToken(Duration.ZERO).maxNumSeqs(16).build().start();
    try (Worker worker = Worker.start(h.config(vllm.target(), Map.of()),
            new VllmBackendFactory());
        InferenceClient client = client(h, 10, Duration.ofMinutes(1))) {
      // another producer's requests land on the same results topic
      List<org.apache.kafka.clients.producer.ProducerRecord<byte[], byte[]>> others =
          new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        others.add(h.record(null, PipelineHarness.request("other-" + i, "not mine", "")));
      }
      h.produce(others);
      byte[] value = "{\"id\":\"raw-1\",\"prompt\":\"raw bytes\",\"params\":{\"max_tokens\":8}}"
          .getBytes(StandardCharsets.UTF_8);
      byte[] result = client.send("my-key".getBytes(StandardCharsets.UTF_8), value)
          .get(1, TimeUnit.MINUTES);
      String json = new String(result, StandardCharsets.UTF_8);
      assertThat(json).contains("\"id\":\"raw-1\"").contains("\"text\":\"raw bytes\"");
      assertThatThrownBy(() -> client.send(null, "{\"prompt\":\"no id\"}".getBytes(
          StandardCharsets.UTF_8))).isInstanceOf(IllegalArgumentException.class);
    }
  }
}
