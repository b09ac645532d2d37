package io.kvw.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The latency harness's own floor: a bare relay in its own JVM that consumes each request and
 * at once produces it to the results topic (the worker's producer settings: idempotent,
 * {@code acks=all}, {@code linger.ms=5}), measured like the worker (result record timestamp
 * minus request record timestamp) at the same rate, through the same broker and producer. What
 * it shows is the Kafka round trip on this machine that no worker can go below.
 */
public final class RelayFloor {
  private RelayFloor() {}

  /** The relay process: {@code RelayFloor BOOTSTRAP REQUESTS RESULTS}; runs until killed. */
  public static void main(String[] args) {
    Properties c = new Properties();
    c.put("bootstrap.servers", args[0]);
    c.put("group.id", "relay-" + args[1]);
    c.put("auto.offset.reset", "earliest");
    c.put("enable.auto.commit", "false");
    Properties p = new Properties();
    p.put("bootstrap.servers", args[0]);
    p.put("enable.idempotence", "true");
    p.put("acks", "all");
    p.put("linger.ms", "5");
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c,
        new ByteArrayDeserializer(), new ByteArrayDeserializer());
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p,
            new ByteArraySerializer(), new ByteArraySerializer())) {
      producer.partitionsFor(args[2]); // its metadata before the first record, as the worker
      consumer.subscribe(List.of(args[1]));
      while (true) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          producer.send(new ProducerRecord<>(args[2], r.key(), r.value()));
        }
      }
    }
  }

  /**
   * Relays {@code seconds} of requests at {@code perSecond} (after as long a warm-up, so that
   * the relay's JIT has compiled its path as the warm worker's has) and returns
   * result timestamp minus request timestamp per request, in microseconds.
   */
  static Histogram measure(BrokerProcess kafka, Path work, double perSecond, int seconds)
      throws Exception {
    String name = "floor";
    Topics.create(kafka::createTopic, name, 6);
    Map<String, Long> sentAt = new ConcurrentHashMap<>();
    Map<String, Long> resultAt = new ConcurrentHashMap<>();
    Process relay = start(kafka.bootstrapServers(), name, work);
    Thread reader = new Thread(() -> read(kafka.bootstrapServers(), name + ".results",
        resultAt), "floor-results");
    reader.setDaemon(true);
    reader.start();
    try (PacedLoad load = new PacedLoad(kafka.bootstrapServers())) {
      int warm = (int) (perSecond * seconds);
      load.run(name + ".requests", "fw", warm, perSecond, sentAt);
      await(resultAt, "fw", warm);
      int n = (int) (perSecond * seconds);
      load.run(name + ".requests", "f", n, perSecond, sentAt);
      await(resultAt, "f", n);
      Histogram h = new Histogram(3_600_000_000L, 3);
      for (int i = 0; i < n; i++) {
        Long at = resultAt.get("f-" + i);
        if (at != null) {
          h.recordValue(Math.max(0, (at - sentAt.get("f-" + i)) * 1000));
        }
      }
      return h;
    } finally {
      relay.destroy();
      relay.waitFor(10, TimeUnit.SECONDS);
      reader.interrupt();
    }
  }

  private static Process start(String bootstrap, String name, Path work) throws IOException {
    List<String> cmd = new ArrayList<>(List.of(WorkerProcess.javaBin(), "-Xmx256m"));
    String extra = System.getProperty("kvw.bench.relayJvmArgs", "").trim();
    if (!extra.isEmpty()) {
      cmd.addAll(List.of(extra.split("\\s+")));
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"),
        RelayFloor.class.getName(), bootstrap, name + ".requests", name + ".results"));
    Process p = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(work.resolve("relay-floor.log").toFile()).start();
    Runtime.getRuntime().addShutdownHook(new Thread(p::destroyForcibly, "kill-relay"));
    return p;
  }

  private static void await(Map<String, Long> resultAt, String prefix, int n)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline && !resultAt.containsKey(prefix + "-" + (n - 1))) {
      Thread.sleep(100);
    }
    Thread.sleep(500); // partitions finish out of order; the last sent is not the last seen
  }

  /** Result values are the request records relayed: their ids are {@code "id":"..."}. */
  private static void read(String bootstrap, String topic, Map<String, Long> resultAt) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("group.id", "floor-reader");
    p.put("auto.offset.reset", "earliest");
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p,
        new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      while (!Thread.currentThread().isInterrupted()) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          String v = new String(r.value(), StandardCharsets.UTF_8);
          int at = v.indexOf("\"id\":\"") + 6;
          resultAt.put(v.substring(at, v.indexOf('"', at)), r.timestamp());
        }
      }
    } catch (org.apache.kafka.common.errors.InterruptException e) {
      // the measurement is over
    }
  }
}
