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
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
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
 *
 * <p>Its requests topic stamps records with the broker's append time ({@code
 * message.timestamp.type=LogAppendTime}), and the relay copies that and its own poll time into
 * headers of each result, so the floor splits into its hops: sent → appended by the broker,
 * appended → polled by the relay, polled → sent again.
 */
public final class RelayFloor {
  /** Result headers: the request's append time and the relay's poll time, epoch ms. */
  private static final String APPENDED = "appended";
  private static final String POLLED = "polled";

  /**
   * The floor, whole and per hop, in microseconds, and the machine's cores while it was
   * measured.
   */
  record Floor(Histogram total, Histogram toAppend, Histogram toPoll, Histogram toSend,
      MachineCpu machine) {}

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
        var records = consumer.poll(Duration.ofMillis(100));
        byte[] polled = Long.toString(System.currentTimeMillis()).getBytes(
            StandardCharsets.US_ASCII);
        for (ConsumerRecord<byte[], byte[]> r : records) {
          ProducerRecord<byte[], byte[]> out = new ProducerRecord<>(args[2], r.key(), r.value());
          out.headers().add(APPENDED, Long.toString(r.timestamp())
              .getBytes(StandardCharsets.US_ASCII)).add(POLLED, polled);
          producer.send(out);
        }
      }
    }
  }

  /**
   * Relays {@code seconds} of requests at {@code perSecond} and returns result timestamp minus
   * request timestamp per request, in microseconds. Before, it warms the relay the way the
   * latency bench warms the worker, at the same rate until its compiler is quiet (at most
   * {@code maxWarmSeconds}; {@link HarnessJvm#warmUntilCompiled}), then runs
   * {@code beforeMeasuring}.
   */
  static Floor measure(BrokerProcess kafka, long simulatorPid, Path work, double perSecond,
      int seconds, int maxWarmSeconds, Runnable beforeMeasuring) throws Exception {
    String name = "floor";
    Topics.create(kafka::createTopic, name, 6);
    stampAppendTime(kafka.bootstrapServers(), name + ".requests");
    Map<String, Long> sentAt = new ConcurrentHashMap<>();
    Map<String, long[]> resultAt = new ConcurrentHashMap<>();
    Process relay = start(kafka.bootstrapServers(), name, work);
    Thread reader = new Thread(() -> read(kafka.bootstrapServers(), name + ".results",
        resultAt), "floor-results");
    reader.setDaemon(true);
    reader.start();
    try (PacedLoad load = new PacedLoad(kafka.bootstrapServers())) {
      int warm = (int) (perSecond * HarnessJvm.WARM_UP_STEP_SECONDS);
      System.out.println("relay warm after " + HarnessJvm.warmUntilCompiled(relay.pid(),
          maxWarmSeconds, step -> {
            load.run(name + ".requests", "fw" + step, warm, perSecond, sentAt);
            await(resultAt, "fw" + step, warm);
            settle();
          }));
      beforeMeasuring.run();
      int n = (int) (perSecond * seconds);
      MachineCpu.Mark start = MachineCpu.Mark.now(relay.pid(), kafka.pid(), simulatorPid);
      load.run(name + ".requests", "f", n, perSecond, sentAt);
      await(resultAt, "f", n);
      MachineCpu machine = MachineCpu.between(start,
          MachineCpu.Mark.now(relay.pid(), kafka.pid(), simulatorPid));
      settle();
      Floor f = new Floor(histogram(), histogram(), histogram(), histogram(), machine);
      for (int i = 0; i < n; i++) {
        long[] at = resultAt.get("f-" + i); // result timestamp, appended, polled
        if (at != null) {
          long sent = sentAt.get("f-" + i);
          f.total().recordValue(Math.max(0, (at[0] - sent) * 1000));
          f.toAppend().recordValue(Math.max(0, (at[1] - sent) * 1000));
          f.toPoll().recordValue(Math.max(0, (at[2] - at[1]) * 1000));
          f.toSend().recordValue(Math.max(0, (at[0] - at[2]) * 1000));
        }
      }
      return f;
    } finally {
      relay.destroy();
      relay.waitFor(10, TimeUnit.SECONDS);
      reader.interrupt();
    }
  }

  private static Histogram histogram() {
    return new Histogram(3_600_000_000L, 3);
  }

  /** The broker stamps {@code topic}'s records with their append time from now on. */
  private static void stampAppendTime(String bootstrap, String topic) throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, topic),
          List.of(new AlterConfigOp(new ConfigEntry("message.timestamp.type", "LogAppendTime"),
              AlterConfigOp.OpType.SET)))).all().get();
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

  private static void await(Map<String, long[]> resultAt, String prefix, int n)
      throws InterruptedException {
    long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
    while (System.nanoTime() < deadline && !resultAt.containsKey(prefix + "-" + (n - 1))) {
      Thread.sleep(100);
    }
  }

  /** Partitions finish out of order: the last sent is not the last seen. */
  private static void settle() throws InterruptedException {
    Thread.sleep(500);
  }

  private static long header(ConsumerRecord<byte[], byte[]> r, String name) {
    return Long.parseLong(new String(r.headers().lastHeader(name).value(),
        StandardCharsets.US_ASCII));
  }

  /** Result values are the request records relayed: their ids are {@code "id":"..."}. */
  private static void read(String bootstrap, String topic, Map<String, long[]> resultAt) {
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
          resultAt.put(v.substring(at, v.indexOf('"', at)), new long[] {r.timestamp(),
              header(r, APPENDED), header(r, POLLED)});
        }
      }
    } catch (org.apache.kafka.common.errors.InterruptException e) {
      // the measurement is over
    }
  }
}
