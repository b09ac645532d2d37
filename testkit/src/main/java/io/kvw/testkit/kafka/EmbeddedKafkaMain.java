package io.kvw.testkit.kafka;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * Runs an {@link EmbeddedKafka} as its own process until killed, so a test can kill the broker
 * for real: {@code EmbeddedKafkaMain --port 9092 --log-dir DIR}. Prints
 * {@code bootstrap.servers=HOST:PORT} once ready.
 */
public final class EmbeddedKafkaMain {
  private EmbeddedKafkaMain() {}

  public static void main(String[] args) throws InterruptedException {
    int port = 9092;
    Path logDir = null;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--port" -> port = Integer.parseInt(args[i + 1]);
        case "--log-dir" -> logDir = Path.of(args[i + 1]);
        default -> {
          System.err.println("usage: EmbeddedKafkaMain [--port N] [--log-dir DIR]");
          System.exit(2);
        }
      }
    }
    EmbeddedKafka kafka = EmbeddedKafka.builder().port(port).logDir(logDir).build().start();
    System.out.println("bootstrap.servers=" + kafka.bootstrapServers());
    CountDownLatch forever = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      kafka.close();
      forever.countDown();
    }));
    forever.await();
  }
}
