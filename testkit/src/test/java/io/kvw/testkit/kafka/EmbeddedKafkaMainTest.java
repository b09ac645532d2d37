package io.kvw.testkit.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EmbeddedKafkaMainTest {
  @TempDir
  Path dir;

  /** Starts the broker in its own JVM and returns it once it printed its address. */
  private Process startBroker(int port, Path logDir, Path output) throws Exception {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    Process p = new ProcessBuilder(java, "-XX:TieredStopAtLevel=1", "-cp",
        System.getProperty("java.class.path"), EmbeddedKafkaMain.class.getName(),
        "--port", Integer.toString(port), "--log-dir", logDir.toString())
        .redirectErrorStream(true).redirectOutput(output.toFile()).start();
    long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
    while (System.nanoTime() < deadline) {
      Optional<String> ready = Files.readAllLines(output).stream()
          .filter(l -> l.startsWith(EmbeddedKafkaMain.READY_PREFIX)).findFirst();
      if (ready.isPresent()) {
        assertThat(ready.get()).isEqualTo("bootstrap.servers=127.0.0.1:" + port);
        return p;
      }
      assertThat(p.isAlive()).as("broker process died: %s", read(output)).isTrue();
      Thread.sleep(100);
    }
    p.destroyForcibly();
    throw new AssertionError("broker process not ready: " + read(output));
  }

  private static String read(Path f) throws IOException {
    return Files.readString(f);
  }

  @Test
  void aBrokerKilledWithSigkillComesBackOnTheSamePortWithItsRecords() throws Exception {
    int port = LoopbackPorts.free();
    String bootstrap = "127.0.0.1:" + port;
    Path logDir = dir.resolve("data");
    Process broker = startBroker(port, logDir, dir.resolve("first.log"));
    try {
      try (KafkaProducer<String, String> producer = new KafkaProducer<>(
          Map.of("bootstrap.servers", bootstrap), new StringSerializer(),
          new StringSerializer())) {
        for (int i = 0; i < 100; i++) {
          producer.send(new ProducerRecord<>("survivors", "k" + i, "v" + i));
        }
        producer.flush();
      }
      broker.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
      assertThat(LoopbackPorts.isFree(port)).as("port closed after kill -9").isTrue();

      broker = startBroker(port, logDir, dir.resolve("second.log"));
      int read = 0;
      try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(
          "bootstrap.servers", bootstrap, "group.id", "reader", "auto.offset.reset", "earliest"),
          new StringDeserializer(), new StringDeserializer())) {
        consumer.subscribe(List.of("survivors"));
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (read < 100 && System.nanoTime() < deadline) {
          read += consumer.poll(Duration.ofMillis(200)).count();
        }
      }
      assertThat(read).isEqualTo(100);
    } finally {
      broker.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
    }
  }
}
