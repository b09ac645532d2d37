package io.kvw.bench;

import io.kvw.testkit.kafka.EmbeddedKafkaMain;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;

/**
 * The benchmark's broker in its own JVM ({@link EmbeddedKafkaMain}), so that neither its
 * garbage collections nor the bench's (simulator, load generator, result reader) stop the
 * other. It is part of the harness, not of the product, so it runs with low-pause settings:
 * the serial collector over a small young generation, whose collections copy little (the
 * broker's request buffers die young; about 1 MiB survives each), where G1 in the bench's
 * shared, growing heap paused the whole harness for 21 to 108 ms each time (measured on the
 * loaded 2-core bench machine, where the serial ones still took 15 to 150 ms of wall time
 * waiting for a core). Its heap is touched at start: on the bench VM a page's first touch
 * costs about 9 µs, and collections copying into fresh pages paid it. A large young
 * generation does not suit it: with 1.5 GiB (and a full collection before each measured
 * stretch, so none inside) the worker's added p99 at 50 % load was 49 ms against 14 ms with
 * this one, pauses and all (one run each; why was not pinned down). Its GC log goes to
 * {@code broker-gc.log} in the work directory; {@code -Dkvw.bench.brokerJvmArgs=...} replaces
 * the settings, to compare.
 */
final class BrokerProcess implements AutoCloseable {
  static final List<String> JVM_ARGS = List.of("-Xms512m", "-Xmx512m", "-XX:+UseSerialGC",
      "-Xmn48m", "-XX:+AlwaysPreTouch");
  private final Process process;
  private final String bootstrap;
  private final Path gcLog;

  BrokerProcess(Path work) throws IOException {
    int port;
    try (ServerSocket s = new ServerSocket(0)) {
      port = s.getLocalPort();
    }
    List<String> cmd = new ArrayList<>(List.of(WorkerProcess.javaBin()));
    String override = System.getProperty("kvw.bench.brokerJvmArgs", "").trim();
    cmd.addAll(override.isEmpty() ? JVM_ARGS : List.of(override.split("\\s+")));
    gcLog = work.resolve("broker-gc.log");
    cmd.addAll(List.of("-Xlog:gc:file=" + gcLog, "-cp",
        System.getProperty("java.class.path"), EmbeddedKafkaMain.class.getName(), "--port",
        Integer.toString(port), "--log-dir", Files.createTempDirectory(work, "broker")
            .toString()));
    process = new ProcessBuilder(cmd).redirectErrorStream(true).start();
    Process child = process;
    Runtime.getRuntime().addShutdownHook(new Thread(child::destroyForcibly, "kill-broker"));
    BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
        StandardCharsets.UTF_8));
    String line;
    String ready = null;
    while (ready == null && (line = out.readLine()) != null) {
      if (line.startsWith("bootstrap.servers=")) {
        ready = line.substring("bootstrap.servers=".length());
      }
    }
    if (ready == null) {
      throw new IllegalStateException("the broker process exited before it was ready");
    }
    bootstrap = ready;
    Thread drain = new Thread(() -> out.lines().forEach(l -> { }), "broker-output");
    drain.setDaemon(true);
    drain.start();
  }

  String bootstrapServers() {
    return bootstrap;
  }

  /** Creates a topic (one replica) and waits until every partition has a leader. */
  void createTopic(String name, int partitions) {
    io.kvw.testkit.kafka.EmbeddedKafka.createTopic(bootstrap, name, partitions);
  }

  /** Its GC pauses so far, in milliseconds, in order. */
  List<Double> gcPauses() {
    return HarnessJvm.pauses(gcLog);
  }

  /** Its process id, to read its compiler threads' CPU ({@link HarnessJvm}). */
  long pid() {
    return process.pid();
  }

  /** A full collection now ({@link HarnessJvm#collect}). */
  void collectGarbage() {
    HarnessJvm.collect(process.pid());
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
