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
 * waiting for a core). Its GC log goes to
 * {@code broker-gc.log} in the work directory; {@code -Dkvw.bench.brokerJvmArgs=...} replaces
 * the settings, to compare.
 */
final class BrokerProcess implements AutoCloseable {
  static final List<String> JVM_ARGS = List.of("-Xms512m", "-Xmx512m", "-XX:+UseSerialGC",
      "-Xmn48m");
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

  /**
   * The broker's GC pauses so far, from its GC log: {@code "N pauses, longest X ms, Y ms in
   * all"} (lines such as {@code [..][info][gc] GC(3) Pause Young (...) 56M->22M(507M) 8.540ms}).
   */
  String gcPauses() {
    return gcPauses(gcLog);
  }

  /** The pauses in the GC log {@code gcLog} ({@code -Xlog:gc:file=...}), summed up as above. */
  static String gcPauses(Path gcLog) {
    List<String> lines;
    try {
      lines = Files.readAllLines(gcLog);
    } catch (IOException e) {
      return "unknown (" + e.getMessage() + ")";
    }
    int n = 0;
    double longest = 0;
    double all = 0;
    for (String l : lines) {
      if (l.contains(" Pause ") && l.endsWith("ms")) {
        double ms = Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1, l.length() - 2));
        n++;
        longest = Math.max(longest, ms);
        all += ms;
      }
    }
    return String.format(Locale.ROOT, "%d pauses, longest %.0f ms, %.0f ms in all", n,
        longest, all);
  }

  @Override
  public void close() throws InterruptedException {
    process.destroy();
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
