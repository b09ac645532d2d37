package io.kvw.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.backend.Generation;
import io.kvw.worker.backend.GenerationCall;
import io.kvw.worker.backend.InferenceBackend;
import io.kvw.worker.backend.VllmBackendFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** Committed offsets never pass a record whose outcome is not yet published. */
class CommitSafetyTest {

  /** Passes calls to the real backend, but holds one request until the test lets it go. */
  static final class HoldingBackend implements InferenceBackend {
    final InferenceBackend delegate;
    final String heldId;
    final CountDownLatch release = new CountDownLatch(1);

    HoldingBackend(InferenceBackend delegate, String heldId) {
      this.delegate = delegate;
      this.heldId = heldId;
    }

    @Override
    public CompletableFuture<Generation> generate(GenerationCall call) {
      if (!call.request().id().equals(heldId)) {
        return delegate.generate(call);
      }
      return CompletableFuture.runAsync(() -> {
        try {
          release.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }).thenCompose(v -> delegate.generate(call));
    }

    @Override
    public CompletableFuture<Boolean> healthy() {
      return delegate.healthy();
    }

    @Override
    public CompletableFuture<Void> abort(Collection<String> ids) {
      return delegate.abort(ids);
    }

    @Override
    public io.kvw.worker.backend.PromptPreparer prompts() {
      return delegate.prompts();
    }

    @Override
    public String modelName() {
      return delegate.modelName();
    }

    @Override
    public void close() {
      delegate.close();
    }
  }

  @Test
  void committedOffsetsNeverPassAnUnfinishedRecord() throws Exception {
    PipelineHarness h = PipelineHarness.create("commit-safety", 1);
    try (VllmSimulator vllm = VllmSimulator.builder().modelName("sim-model")
        .timeToFirstToken(Duration.ofMillis(1)).timePerOutputToken(Duration.ZERO)
        .maxNumSeqs(16).build()) {
      vllm.start();
      int n = 200;
      int heldOffset = 37;
      List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
      for (int i = 0; i < n; i++) {
        records.add(h.record(null, PipelineHarness.request("c-" + i, "commit " + i, "")));
      }
      h.produce(records);
      HoldingBackend[] holder = new HoldingBackend[1];
      TopicPartition p0 = new TopicPartition(h.requests, 0);
      try (Worker worker = Worker.start(h.config(vllm.target(), Map.of()), (cfg, t) -> {
        holder[0] = new HoldingBackend(new VllmBackendFactory().connect(cfg, t),
            "c-" + heldOffset);
        return holder[0];
      });
          PipelineHarness.Reader reader = h.reader()) {
        reader.readUntil(() -> reader.count(h.results) >= n - 1, Duration.ofSeconds(60));
        assertThat(reader.count(h.results)).isEqualTo(n - 1);
        // every record after the held one is done, yet the commit waits at the held one
        await().atMost(Duration.ofSeconds(10)).until(() -> h.committed().containsKey(p0)
            && h.committed().get(p0).offset() == heldOffset);
        Thread.sleep(500); // several commit intervals later it still has not moved
        assertThat(h.committed().get(p0).offset()).isEqualTo(heldOffset);

        holder[0].release.countDown();
        reader.readUntil(() -> reader.count(h.results) >= n, Duration.ofSeconds(30));
        await().atMost(Duration.ofSeconds(10)).until(() -> h.committed().get(p0).offset() == n);
      }
    }
  }
}
