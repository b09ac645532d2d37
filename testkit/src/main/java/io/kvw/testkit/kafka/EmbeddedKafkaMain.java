package io.kvw.testkit.kafka;

import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;

/**
 * Runs an {@link EmbeddedKafka} as its own process until killed, so a test can kill the broker
 * for real: {@code EmbeddedKafkaMain --port 9092 --log-dir DIR}. Prints one line,
 * {@code bootstrap.servers=127.0.0.1:PORT}, once the broker accepts requests. Started again
 * with the same port and log directory (even after {@code kill -9}) it serves the same data.
 * Without {@code --log-dir} the data goes to a temporary directory that is deleted on a normal
 * exit (SIGTERM) but left behind on {@code kill -9}.
 */
public final class EmbeddedKafkaMain {
  static final String READY_PREFIX = "bootstrap.servers=";
  private static final String USAGE = "usage: EmbeddedKafkaMain [--port N (default 9092)] "
      + "[--log-dir DIR (default a temporary directory)]";

  private EmbeddedKafkaMain() {}

  public static void main(String[] args) throws InterruptedException {
    int port = 9092;
    Path logDir = null;
    if (args.length % 2 != 0) {
      exitWithUsage();
    }
    for (int i = 0; i < args.length; i += 2) {
      switch (args[i]) {
        case "--port" -> port = parsePort(args[i + 1]);
        case "--log-dir" -> logDir = Path.of(args[i + 1]);
        default -> exitWithUsage();
      }
    }
    EmbeddedKafka kafka = EmbeddedKafka.builder().port(port).logDir(logDir).build().start();
    System.out.println(READY_PREFIX + kafka.bootstrapServers());
    System.out.flush();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      kafka.close();
      stopped.countDown();
    }, "embedded-kafka-shutdown"));
    stopped.await();
  }

  private static int parsePort(String value) {
    try {
      int port = Integer.parseInt(value);
      if (port >= 1 && port <= 65_535) {
        return port;
      }
    } catch (NumberFormatException e) {
      // fall through to the usage message
    }
    System.err.println("--port must be 1 to 65535, got: " + value);
    exitWithUsage();
    return -1;
  }

  private static void exitWithUsage() {
    System.err.println(USAGE);
    System.exit(2);
  }
}
