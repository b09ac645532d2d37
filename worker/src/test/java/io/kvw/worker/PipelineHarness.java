package io.kvw.worker;

import io.kvw.common.InferenceResult;
import io.kvw.common.ResultCodec;
import io.kvw.testkit.kafka.EmbeddedKafka;
import io.kvw.worker.config.WorkerConfig;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Test plumbing around one real in-process KRaft broker, shared by every test in the JVM
 * (it takes seconds to start). Each test gets its own topics and consumer group, so tests
 * cannot see each other's records.
 */
final class PipelineHarness {
  private static EmbeddedKafka kafka;
  private static final AtomicInteger SEQ = new AtomicInteger();

  final String requests;
  final String results;
  final String dlq;
  final String stream;
  final String group;

  private PipelineHarness(String name, int partitions) {
    String prefix = name + "-" + SEQ.incrementAndGet();
    requests = prefix + ".requests";
    results = prefix + ".results";
    dlq = prefix + ".dlq";
    stream = prefix + ".stream";
    group = prefix + "-workers";
    kafka().createTopic(requests, partitions);
    kafka().createTopic(results, 3);
    kafka().createTopic(dlq, 1);
    kafka().createTopic(stream, 1);
  }

  static PipelineHarness create(String name, int partitions) {
    return new PipelineHarness(name, partitions);
  }

  static synchronized EmbeddedKafka kafka() {
    if (kafka == null) {
      // large enough for the oversized-record tests to get their record in
      kafka = EmbeddedKafka.builder().brokerProperty("message.max.bytes", "8388608").build();
      kafka.start();
      Runtime.getRuntime().addShutdownHook(new Thread(kafka::close));
    }
    return kafka;
  }

  /** A worker config on this harness's topics and the given vLLM target. */
  WorkerConfig config(String vllmTarget, Map<String, String> overrides) {
    Map<String, String> m = new HashMap<>();
    m.put("kafka.bootstrap.servers", kafka().bootstrapServers());
    m.put("kafka.group.id", group);
    m.put("topics.requests", requests);
    m.put("topics.results", results);
    m.put("topics.dlq", dlq);
    m.put("topics.stream", stream);
    m.put("vllm.target", vllmTarget);
    m.put("http.port", "-1");
    m.put("worker.id", "test-worker");
    m.put("worker.commit-interval", "100ms");
    m.put("worker.startup-timeout", "20s");
    // the group coordinator of a fresh broker needs a moment; keep rebalances quick in tests
    m.put("kafka.session.timeout.ms", "10000");
    m.put("kafka.heartbeat.interval.ms", "1000");
    m.putAll(overrides);
    return WorkerConfig.of(m);
  }

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  /** GET on the worker's own HTTP endpoint ({@code /metrics}, {@code /health/ready}, ...). */
  static HttpResponse<String> get(Worker worker, String path)
      throws IOException, InterruptedException {
    return HTTP.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + worker.httpPort()
        + path)).build(), HttpResponse.BodyHandlers.ofString());
  }

  static String request(String id, String prompt, String extra) {
    return "{\"id\":\"" + id + "\",\"prompt\":\"" + prompt + "\"" + (extra.isEmpty() ? ""
        : "," + extra) + "}";
  }

  void produce(List<ProducerRecord<byte[], byte[]>> records) {
    Properties p = new Properties();
    p.put("bootstrap.servers", kafka().bootstrapServers());
    p.put("linger.ms", "5");
    p.put("max.request.size", "8388608");
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p,
        new ByteArraySerializer(), new ByteArraySerializer())) {
      for (ProducerRecord<byte[], byte[]> r : records) {
        producer.send(r);
      }
      producer.flush();
    }
  }

  ProducerRecord<byte[], byte[]> record(String key, String value) {
    return new ProducerRecord<>(requests, key == null ? null : key.getBytes(
        StandardCharsets.UTF_8), value.getBytes(StandardCharsets.UTF_8));
  }

  /** Reads a topic from the start, in a fresh group, until {@code done} or the timeout. */
  final class Reader implements AutoCloseable {
    final List<ConsumerRecord<byte[], byte[]>> records = new ArrayList<>();
    private final KafkaConsumer<byte[], byte[]> consumer;

    Reader(String... topics) {
      Properties p = new Properties();
      p.put("bootstrap.servers", kafka().bootstrapServers());
      p.put("group.id", "reader-" + UUID.randomUUID());
      p.put("auto.offset.reset", "earliest");
      p.put("enable.auto.commit", "false");
      // what a results consumer of an exactly-once worker reads (the same as read_uncommitted
      // for an at-least-once worker, whose producer writes no transactions)
      p.put("isolation.level", "read_committed");
      consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(),
          new ByteArrayDeserializer());
      consumer.subscribe(List.of(topics));
    }

    /** Polls until the condition holds (checked between polls) or the timeout passes. */
    Reader readUntil(BooleanSupplier done, Duration timeout) {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (!done.getAsBoolean() && System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(100)).forEach(records::add);
      }
      return this;
    }

    /** Keeps reading for a short while, to catch records that should not be there. */
    Reader settle(Duration quiet) {
      long deadline = System.nanoTime() + quiet.toNanos();
      while (System.nanoTime() < deadline) {
        consumer.poll(Duration.ofMillis(100)).forEach(records::add);
      }
      return this;
    }

    List<ConsumerRecord<byte[], byte[]>> on(String topic) {
      return records.stream().filter(r -> r.topic().equals(topic)).toList();
    }

    int count(String topic) {
      return (int) records.stream().filter(r -> r.topic().equals(topic)).count();
    }

    List<InferenceResult> results() {
      ResultCodec codec = new ResultCodec();
      return on(results).stream().map(r -> codec.decode(r.value())).toList();
    }

    @Override
    public void close() {
      consumer.close();
    }
  }

  Reader reader() {
    return new Reader(results, dlq);
  }

  Map<TopicPartition, OffsetAndMetadata> committed() throws Exception {
    Properties p = new Properties();
    p.put("bootstrap.servers", kafka().bootstrapServers());
    try (Admin admin = Admin.create(p)) {
      return admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
    }
  }
}
