package io.kvw.demo;

import io.kvw.common.InferenceResult;
import io.kvw.common.ResultCodec;
import io.kvw.testkit.kafka.EmbeddedKafka;
import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.Worker;
import io.kvw.worker.backend.VllmBackendFactory;
import io.kvw.worker.config.WorkerConfig;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The one-command demo: an embedded Kafka broker, the vLLM simulator, and a worker on them;
 * sends sample requests (good and bad), prints every result and the DLQ, exits 0 when every
 * request was answered.
 */
@Command(name = "demo", mixinStandardHelpOptions = true,
    description = "Start an embedded Kafka broker and the vLLM simulator, run the worker on "
        + "them, send sample prompts, print their results, exit 0.")
final class DemoCommand implements Callable<Integer> {

  @Option(names = "--timeout", defaultValue = "120",
      description = "Seconds to wait for all results (default: ${DEFAULT-VALUE}).")
  int timeoutSeconds;

  @Option(names = "--intake", defaultValue = "consumer",
      description = "consumer (a consumer group) or share (a share group, KIP-932); "
          + "default: ${DEFAULT-VALUE}.")
  String intake;

  /** The sample requests: key, value. Two are bad on purpose, one is already expired. */
  static Map<String, String> samples(String model) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("greeting", "{\"id\":\"demo-1\",\"prompt\":\"Translate to French: Hello, world!\","
        + "\"params\":{\"max_tokens\":64,\"temperature\":0.7},\"metadata\":{\"tenant\":\"acme\"}}");
    m.put("chat", "{\"id\":\"demo-2\",\"model\":\"" + model + "\",\"messages\":["
        + "{\"role\":\"system\",\"content\":\"You are terse.\"},"
        + "{\"role\":\"user\",\"content\":\"Name three primes.\"}],\"params\":{\"max_tokens\":32}}");
    m.put("two-samples", "{\"id\":\"demo-3\",\"prompt\":\"Write a haiku about queues.\","
        + "\"params\":{\"n\":2,\"max_tokens\":16,\"seed\":7}}");
    m.put("short", "{\"id\":\"demo-4\",\"prompt\":\"Count to five: one two three four five\","
        + "\"params\":{\"max_tokens\":4}}");
    m.put("streamed", "{\"id\":\"demo-5\",\"prompt\":\"Stream me a sentence.\",\"stream\":true}");
    m.put("no-id", "{\"prompt\":\"A request without an id gets topic-partition-offset.\"}");
    m.put("malformed", "{\"id\":\"demo-7\",\"prompt\":\"unterminated");
    m.put("unknown-model", "{\"id\":\"demo-8\",\"model\":\"gpt-17\",\"prompt\":\"hi\"}");
    m.put("expired", "{\"id\":\"demo-9\",\"prompt\":\"too late\","
        + "\"deadline\":\"2020-01-01T00:00:00Z\"}");
    return m;
  }

  @Override
  public Integer call() throws Exception {
    System.out.println("kafka-vllm-worker demo: starting an embedded Kafka broker and the vLLM "
        + "simulator (it answers with the prompt's own tokens)...");
    try (EmbeddedKafka kafka = EmbeddedKafka.builder().build();
        VllmSimulator vllm = VllmSimulator.builder().modelName("sim-model")
            .timeToFirstToken(Duration.ofMillis(20)).timePerOutputToken(Duration.ofMillis(2))
            .maxNumSeqs(64).build()) {
      kafka.start();
      vllm.start();
      for (String topic : List.of("inference.requests", "inference.results",
          "inference.requests.dlq", "inference.results.stream")) {
        kafka.createTopic(topic, 3);
      }
      WorkerConfig config = WorkerConfig.of(Map.of(
          "kafka.bootstrap.servers", kafka.bootstrapServers(),
          "vllm.target", vllm.target(),
          "http.port", "0",
          "worker.id", "demo-worker",
          "worker.drain-timeout", "5s",
          "worker.intake", intake));
      try (Worker worker = Worker.start(config, new VllmBackendFactory())) {
        System.out.println("worker running; metrics at http://localhost:" + worker.httpPort()
            + "/metrics");
        Map<String, String> samples = samples("sim-model");
        produce(kafka.bootstrapServers(), samples);
        return printResults(kafka.bootstrapServers(), samples.size());
      }
    }
  }

  private static void produce(String bootstrap, Map<String, String> samples) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p,
        new ByteArraySerializer(), new ByteArraySerializer())) {
      samples.forEach((key, value) -> producer.send(new ProducerRecord<>("inference.requests",
          key.getBytes(StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8))));
    }
    System.out.println("sent " + samples.size() + " requests to inference.requests");
  }

  private int printResults(String bootstrap, int expected) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("group.id", "demo-reader-" + UUID.randomUUID());
    p.put("auto.offset.reset", "earliest");
    ResultCodec codec = new ResultCodec();
    List<InferenceResult> results = new ArrayList<>();
    int dlq = 0;
    long deadline = System.nanoTime() + Duration.ofSeconds(timeoutSeconds).toNanos();
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p,
        new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of("inference.results", "inference.requests.dlq"));
      while ((results.size() < expected || dlq < 3) && System.nanoTime() < deadline) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (r.topic().equals("inference.requests.dlq")) {
            dlq++;
            continue;
          }
          InferenceResult result = codec.decode(r.value());
          results.add(result);
          System.out.println(describe(result));
        }
      }
    }
    System.out.printf("%d of %d requests answered (%d ok, %d error results), %d on the DLQ%n",
        results.size(), expected, results.stream().filter(r -> !r.isError()).count(),
        results.stream().filter(InferenceResult::isError).count(), dlq);
    return results.size() == expected ? 0 : 1;
  }

  private static String describe(InferenceResult r) {
    if (r.isError()) {
      return String.format("  %-28s error %-16s %s", r.id(), r.error().type().wireName(),
          r.error().message());
    }
    StringBuilder b = new StringBuilder(String.format("  %-28s %-6s %3d tokens  %s", r.id(),
        r.outputs().get(0).finishReason(), r.usage().completionTokens(), quote(r.text())));
    for (int i = 1; i < r.outputs().size(); i++) {
      b.append(String.format("%n  %-28s %-6s sample %d   %s", "", r.outputs().get(i)
          .finishReason(), i, quote(r.outputs().get(i).text())));
    }
    return b.toString();
  }

  private static String quote(String text) {
    String t = text.replace("\n", "\\n");
    return "\"" + (t.length() > 70 ? t.substring(0, 70) + "…" : t) + "\"";
  }
}
