package io.kvw.worker;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvw.common.DlqHeaders;
import io.kvw.common.ErrorType;
import io.kvw.common.InferenceResult;
import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.backend.VllmBackendFactory;
import io.kvw.worker.config.ConfigException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.Test;

/** The share-group intake ({@code worker.intake=share}) against a real broker and vLLM simulator. */
class ShareIntakeTest {

  private static void groupConfig(PipelineHarness h, Map<String, String> settings)
      throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", PipelineHarness.kafka().bootstrapServers());
    List<AlterConfigOp> ops = new ArrayList<>();
    settings.forEach((k, v) -> ops.add(new AlterConfigOp(new ConfigEntry(k, v),
        AlterConfigOp.OpType.SET)));
    try (Admin admin = Admin.create(p)) {
      admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.GROUP,
          h.group), ops)).all().get();
    }
  }

  private static Map<String, String> share(Map<String, String> more) {
    // the simulator's call count is checked against the records: no warm-up calls in it
    Map<String, String> m = new HashMap<>(Map.of("worker.intake", "share",
        "worker.share.consumers", "2", "worker.drain-timeout", "5s",
        "worker.startup-warmup-calls", "0"));
    m.putAll(more);
    return m;
  }

  private static double counter(Worker w, String name, String... tags) {
    var c = w.registry().find(name).tags(tags).counter();
    return c == null ? 0 : c.count();
  }

  private static List<ProducerRecord<byte[], byte[]>> requests(PipelineHarness h, String prefix,
      int n) {
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      records.add(h.record("k" + i, PipelineHarness.request(prefix + i, "share " + i,
          "\"params\":{\"max_tokens\":4}")));
    }
    return records;
  }

  @Test
  void sixWorkersOnTwoPartitionsAllReceiveRecordsAndEachRequestIsAnsweredOnce()
      throws Exception {
    PipelineHarness h = PipelineHarness.create("share-six", 2);
    // 200 ms per request: 1,200 requests keep six workers of 8 calls busy for about 5 s, long
    // enough for the last one to join the group and take a share (at 30 ms the first workers
    // could drain the topic before the last one's first fetch)
    try (VllmSimulator vllm = VllmSimulator.builder().timeToFirstToken(Duration.ofMillis(200))
        .maxNumSeqs(256).build().start()) {
      int n = 1_200;
      List<Worker> workers = new ArrayList<>();
      try (PipelineHarness.Reader reader = h.reader()) {
        for (int i = 0; i < 6; i++) {
          workers.add(Worker.start(h.config(vllm.target(), share(Map.of("worker.id", "w" + i,
              "worker.max-in-flight", "8", "worker.concurrency", "fixed"))),
              new VllmBackendFactory()));
        }
        h.produce(requests(h, "six-", n));
        reader.readUntil(() -> reader.count(h.results) >= n, Duration.ofSeconds(120))
            .settle(Duration.ofSeconds(2));
        for (Worker w : workers) {
          assertThat(counter(w, "kvw.records.polled")).as("records taken by a worker")
              .isGreaterThan(0);
        }
        List<InferenceResult> results = reader.results();
        assertThat(results).allSatisfy(r -> assertThat(r.isError()).isFalse());
        assertThat(results.stream().map(InferenceResult::id).collect(Collectors.toSet()))
            .hasSize(n);
        assertThat(results).as("each request answered once").hasSize(n);
        assertThat(reader.count(h.dlq)).isZero();
      } finally {
        workers.forEach(Worker::close);
      }
    }
  }

  @Test
  void aRecordThatAlwaysTimesOutReachesTheDlqOnceAfterTheDeliveryLimitWhileTheOthersFlow()
      throws Exception {
    PipelineHarness h = PipelineHarness.create("share-limit", 2);
    groupConfig(h, Map.of("share.delivery.count.limit", "3"));
    try (VllmSimulator vllm = VllmSimulator.builder().timeToFirstToken(Duration.ofMillis(10))
        .build().start()) {
      vllm.faults().slowPromptsContaining("never in time", Duration.ofSeconds(30));
      List<ProducerRecord<byte[], byte[]>> records = requests(h, "ok-", 200);
      byte[] poisonValue = PipelineHarness.request("poison", "never in time", "")
          .getBytes(StandardCharsets.UTF_8);
      byte[] poisonKey = "poison-key".getBytes(StandardCharsets.UTF_8);
      records.add(100, new ProducerRecord<>(h.requests, poisonKey, poisonValue));
      h.produce(records);
      try (Worker worker = Worker.start(h.config(vllm.target(), share(Map.of(
          "vllm.request-timeout", "2s", "worker.retry.max-attempts", "2",
          "worker.retry.backoff", "50ms"))), new VllmBackendFactory());
          PipelineHarness.Reader reader = h.reader()) {
        reader.readUntil(() -> reader.count(h.dlq) >= 1 && reader.count(h.results) >= 201,
            Duration.ofSeconds(90)).settle(Duration.ofSeconds(3));

        List<ConsumerRecord<byte[], byte[]>> dlq = reader.on(h.dlq);
        assertThat(dlq).as("dead-lettered once").extracting(r -> new String(r.key(),
            StandardCharsets.UTF_8)).containsExactly("poison-key");
        ConsumerRecord<byte[], byte[]> dead = dlq.get(0);
        assertThat(dead.key()).isEqualTo(poisonKey);
        assertThat(dead.value()).isEqualTo(poisonValue);
        assertThat(new String(dead.headers().lastHeader(DlqHeaders.ERROR_TYPE).value(),
            StandardCharsets.UTF_8)).isEqualTo("delivery_limit");

        List<InferenceResult> results = reader.results();
        assertThat(results).filteredOn(InferenceResult::isError).singleElement()
            .satisfies(r -> {
              assertThat(r.id()).isEqualTo("poison");
              assertThat(r.error().type()).isEqualTo(ErrorType.DELIVERY_LIMIT);
            });
        assertThat(results).filteredOn(r -> !r.isError()).hasSize(200);
        assertThat(counter(worker, "kvw.share.acknowledgements", "type", "release"))
            .as("given back twice before its last delivery").isEqualTo(2);
      }
    }
  }

  @Test
  void requestsLongerThanTheRecordLockStayWithTheirWorkerByRenewal() throws Exception {
    PipelineHarness h = PipelineHarness.create("share-renew", 1);
    groupConfig(h, Map.of("share.record.lock.duration.ms", "2000"));
    try (VllmSimulator vllm = VllmSimulator.builder().timeToFirstToken(Duration.ofMillis(10))
        .build().start()) {
      vllm.faults().slowPromptsContaining("share", Duration.ofSeconds(5));
      int n = 10;
      h.produce(requests(h, "long-", n));
      List<Worker> workers = new ArrayList<>();
      try (PipelineHarness.Reader reader = h.reader()) {
        for (int i = 0; i < 2; i++) {
          workers.add(Worker.start(h.config(vllm.target(), share(Map.of("worker.id", "r" + i))),
              new VllmBackendFactory()));
        }
        reader.readUntil(() -> reader.count(h.results) >= n, Duration.ofSeconds(60))
            .settle(Duration.ofSeconds(3));
        assertThat(reader.results()).hasSize(n)
            .allSatisfy(r -> assertThat(r.isError()).isFalse());
        assertThat(vllm.stats().received()).as("no record ran twice").isEqualTo(n);
        assertThat(workers.stream().mapToDouble(w -> counter(w, "kvw.share.acknowledgements",
            "type", "renew")).sum()).isGreaterThan(0);
      } finally {
        workers.forEach(Worker::close);
      }
    }
  }

  @Test
  void aGroupThatCannotRenewLocksRefusesARequestTimeoutLongerThanItsLock() throws Exception {
    PipelineHarness h = PipelineHarness.create("share-norenew", 1);
    groupConfig(h, Map.of("share.renew.acknowledge.enable", "false",
        "share.record.lock.duration.ms", "15000"));
    try (VllmSimulator vllm = VllmSimulator.builder().build().start()) {
      assertThatThrownBy(() -> Worker.start(h.config(vllm.target(), share(Map.of(
          "vllm.request-timeout", "60s"))), new VllmBackendFactory()))
          .isInstanceOf(ConfigException.class)
          .hasMessageContaining("vllm.request-timeout")
          .hasMessageContaining("share.record.lock.duration.ms");
    }
  }
}
