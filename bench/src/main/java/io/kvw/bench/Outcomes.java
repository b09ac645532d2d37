package io.kvw.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Everything a scenario's workers published: results by request id (to count answers,
 * duplicates and error types) and the DLQ records (to check their bytes).
 */
final class Outcomes implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final String resultsTopic;
  final Map<String, Integer> answers = new HashMap<>();
  final Map<String, Integer> answersByKey = new HashMap<>();
  final Map<String, String> errorTypeByKey = new HashMap<>();
  final Map<String, String> errorTypeById = new HashMap<>();
  final Map<String, Integer> attemptsById = new HashMap<>();
  /** Result source offsets per partition, to check what a commit covered. */
  final Map<Integer, java.util.BitSet> answeredOffsets = new HashMap<>();
  final List<ConsumerRecord<byte[], byte[]>> dlq = new ArrayList<>();
  int results;

  Outcomes(String bootstrap, String resultsTopic, String dlqTopic) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("group.id", "reliability-" + UUID.randomUUID());
    p.put("auto.offset.reset", "earliest");
    p.put("enable.auto.commit", "false");
    p.put("max.partition.fetch.bytes", Integer.toString(16 * 1024 * 1024));
    // what a results consumer of an exactly-once worker reads; no different for at-least-once
    p.put("isolation.level", "read_committed");
    consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    consumer.subscribe(List.of(resultsTopic, dlqTopic));
    this.resultsTopic = resultsTopic;
  }

  /** Reads for at least {@code min}, then until {@code done} or {@code max}. */
  Outcomes read(Duration min, BooleanSupplier done, Duration max) throws IOException {
    long start = System.nanoTime();
    while (true) {
      long elapsed = System.nanoTime() - start;
      if (elapsed >= max.toNanos() || elapsed >= min.toNanos() && done.getAsBoolean()) {
        return this;
      }
      for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
        if (!r.topic().equals(resultsTopic)) {
          dlq.add(r);
          continue;
        }
        results++;
        JsonNode n = JSON.readTree(r.value());
        String id = n.path("id").asText();
        answers.merge(id, 1, Integer::sum);
        String key = r.key() == null ? "" : new String(r.key(),
            java.nio.charset.StandardCharsets.UTF_8);
        answersByKey.merge(key, 1, Integer::sum);
        if (n.has("error")) {
          errorTypeByKey.put(key, n.path("error").path("type").asText());
        }
        attemptsById.put(id, n.path("attempts").asInt());
        if (n.has("error")) {
          errorTypeById.put(id, n.path("error").path("type").asText());
        } else {
          errorTypeById.remove(id);
        }
        JsonNode src = n.path("source");
        answeredOffsets.computeIfAbsent(src.path("partition").asInt(),
            k -> new java.util.BitSet()).set((int) src.path("offset").asLong());
      }
    }
  }

  Outcomes read(Duration duration) throws IOException {
    return read(duration, () -> true, duration);
  }

  int distinct() {
    return answers.size();
  }

  int duplicates() {
    return results - answers.size();
  }

  long errors(String type) {
    return errorTypeById.values().stream().filter(type::equals).count();
  }

  @Override
  public void close() {
    consumer.close();
  }
}
