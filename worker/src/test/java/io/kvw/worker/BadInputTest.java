package io.kvw.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvw.common.DlqHeaders;
import io.kvw.common.InferenceResult;
import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.backend.VllmBackendFactory;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Bad input gets a clear error and loses nothing: each bad record ends as exactly one error
 * result and one DLQ record holding its original bytes; every good record is still answered.
 */
class BadInputTest {
  private VllmSimulator vllm;

  @BeforeEach
  void startSimulator() {
    vllm = VllmSimulator.builder().modelName("sim-model").timeToFirstToken(Duration.ofMillis(1))
        .timePerOutputToken(Duration.ZERO).maxNumSeqs(64).maxContextLength(256).build();
    vllm.start();
  }

  @AfterEach
  void stopSimulator() {
    vllm.close();
  }

  private static byte[] utf8(String s) {
    return s.getBytes(StandardCharsets.UTF_8);
  }

  /** Bad values by name, with the error type each must end as. */
  private static Map<String, Map.Entry<byte[], String>> badRecords() {
    Map<String, Map.Entry<byte[], String>> m = new LinkedHashMap<>();
    m.put("malformed", Map.entry(utf8("{\"id\":\"x\",\"prompt\":\"unterminated"),
        "invalid_request"));
    m.put("array", Map.entry(utf8("[1,2,3]"), "invalid_request"));
    m.put("number", Map.entry(utf8("42"), "invalid_request"));
    m.put("empty", Map.entry(new byte[0], "invalid_request"));
    m.put("no-prompt", Map.entry(utf8("{\"id\":\"np\"}"), "invalid_request"));
    m.put("both", Map.entry(utf8("{\"prompt\":\"a\",\"messages\":[{\"role\":\"user\","
        + "\"content\":\"b\"}]}"), "invalid_request"));
    m.put("wrong-type", Map.entry(utf8("{\"prompt\":\"a\",\"params\":{\"max_tokens\":\"64\"}}"),
        "invalid_request"));
    m.put("out-of-range", Map.entry(utf8("{\"prompt\":\"a\",\"params\":{\"top_p\":1.5}}"),
        "invalid_request"));
    m.put("invalid-utf8", Map.entry(new byte[] {'{', '"', 'p', 'r', 'o', 'm', 'p', 't', '"',
        ':', '"', (byte) 0xC3, (byte) 0x28, '"', '}'}, "invalid_request"));
    byte[] huge = new byte[2 * 1024 * 1024];
    Arrays.fill(huge, (byte) 'a');
    byte[] prefix = utf8("{\"prompt\":\"");
    System.arraycopy(prefix, 0, huge, 0, prefix.length);
    huge[huge.length - 2] = '"';
    huge[huge.length - 1] = '}';
    m.put("oversized", Map.entry(huge, "invalid_request"));
    m.put("unknown-model", Map.entry(utf8("{\"model\":\"gpt-17\",\"prompt\":\"a\"}"),
        "unknown_model"));
    m.put("expired", Map.entry(utf8("{\"prompt\":\"a\",\"deadline\":\"2020-01-01T00:00:00Z\"}"),
        "expired"));
    m.put("too-long-for-the-model", Map.entry(utf8("{\"prompt\":\"" + "many words ".repeat(400)
        + "\",\"params\":{\"max_tokens\":16}}"), "invalid_request"));
    return m;
  }

  @Test
  void eachBadRecordEndsAsOneErrorResultPlusItsOriginalBytesOnTheDlq() {
    PipelineHarness h = PipelineHarness.create("bad-input", 2);
    Map<String, Map.Entry<byte[], String>> bad = badRecords();
    List<ProducerRecord<byte[], byte[]>> records = new ArrayList<>();
    int good = 0;
    for (Map.Entry<String, Map.Entry<byte[], String>> e : bad.entrySet()) {
      ProducerRecord<byte[], byte[]> r = new ProducerRecord<>(h.requests, utf8("bad-"
          + e.getKey()), e.getValue().getKey());
      r.headers().add("trace", utf8("t-" + e.getKey()));
      records.add(r);
      records.add(h.record("good-" + good, PipelineHarness.request("good-" + good,
          "good prompt " + good, "")));
      good++;
    }
    h.produce(records);
    int expectedGood = good;
    try (Worker worker = Worker.start(h.config(vllm.target(), Map.of()),
        new VllmBackendFactory());
        PipelineHarness.Reader reader = h.reader()) {
      reader.readUntil(() -> reader.count(h.results) >= bad.size() + expectedGood
          && reader.count(h.dlq) >= bad.size(), Duration.ofSeconds(60))
          .settle(Duration.ofSeconds(1));

      Map<String, InferenceResult> resultsByKey = new LinkedHashMap<>();
      for (ConsumerRecord<byte[], byte[]> r : reader.on(h.results)) {
        InferenceResult prev = resultsByKey.put(new String(r.key(), StandardCharsets.UTF_8),
            new io.kvw.common.ResultCodec().decode(r.value()));
        assertThat(prev).as("one result per record, key %s", new String(r.key())).isNull();
      }
      Map<String, ConsumerRecord<byte[], byte[]>> dlqByKey = reader.on(h.dlq).stream()
          .collect(Collectors.toMap(r -> new String(r.key(), StandardCharsets.UTF_8),
              Function.identity()));
      assertThat(dlqByKey.keySet()).hasSize(bad.size());
      assertThat(resultsByKey.keySet()).hasSize(bad.size() + expectedGood);

      for (Map.Entry<String, Map.Entry<byte[], String>> e : bad.entrySet()) {
        String key = "bad-" + e.getKey();
        InferenceResult result = resultsByKey.get(key);
        assertThat(result.isError()).as(key).isTrue();
        assertThat(result.error().type().wireName()).as(key).isEqualTo(e.getValue().getValue());
        assertThat(result.error().message()).as(key).isNotBlank();
        assertThat(result.source().topic()).isEqualTo(h.requests);

        ConsumerRecord<byte[], byte[]> dead = dlqByKey.get(key);
        assertThat(dead.value()).as(key + " bytes intact").isEqualTo(e.getValue().getKey());
        assertThat(header(dead, "trace")).isEqualTo("t-" + e.getKey());
        assertThat(header(dead, DlqHeaders.ERROR_TYPE)).isEqualTo(e.getValue().getValue());
        assertThat(header(dead, DlqHeaders.ERROR_MESSAGE)).isEqualTo(result.error().message());
        assertThat(header(dead, DlqHeaders.ORIGINAL_TOPIC)).isEqualTo(h.requests);
        assertThat(Integer.parseInt(header(dead, DlqHeaders.ORIGINAL_PARTITION)))
            .isEqualTo(result.source().partition());
        assertThat(Long.parseLong(header(dead, DlqHeaders.ORIGINAL_OFFSET)))
            .isEqualTo(result.source().offset());
        assertThat(header(dead, DlqHeaders.ORIGINAL_TIMESTAMP)).matches("\\d+");
        assertThat(header(dead, DlqHeaders.ATTEMPTS)).isEqualTo(
            Integer.toString(result.attempts()));
        assertThat(header(dead, DlqHeaders.WORKER_ID)).isEqualTo("test-worker");
      }
      for (int i = 0; i < expectedGood; i++) {
        InferenceResult r = resultsByKey.get("good-" + i);
        assertThat(r.isError()).as("good-%d: %s", i, r.error()).isFalse();
        assertThat(r.text()).isEqualTo("good prompt " + i);
      }
    }
  }

  private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null ? null : new String(h.value(), StandardCharsets.UTF_8);
  }
}
