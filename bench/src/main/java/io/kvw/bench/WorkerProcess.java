package io.kvw.bench;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * A worker in its own JVM, started the way users start it ({@code java -jar worker.jar run}),
 * so its heap limit, CPU time and memory are its own. While it runs, its {@code /metrics} is
 * scraped every {@link #SCRAPE_EVERY} for the heap in use, keeping the peak, and the last
 * scrape is kept for {@link #scraped}: a scrape costs the worker CPU (in the overhead scenario
 * a twice-a-second scrape plus reads took a tenth of its CPU), so readers that can live with
 * a second-old value share it.
 */
final class WorkerProcess implements AutoCloseable {
  private final Process process;
  private final int httpPort;
  private final ScheduledExecutorService scraper = Executors.newSingleThreadScheduledExecutor();
  private final HttpClient http = HttpClient.newHttpClient();
  static final Duration SCRAPE_EVERY = Duration.ofSeconds(1);
  private volatile Map<String, Double> lastScrape = Map.of();
  /** The heap in use, all areas: a name of the bench's own among the scraped metrics. */
  private static final String HEAP_IN_USE = "kvw_bench_heap_used_bytes";
  /** The highest value each metric had in any scrape so far. */
  private final Map<String, Double> peaks = new ConcurrentHashMap<>();
  private final Path log;

  WorkerProcess(Path workerJar, String xmx, Map<String, String> config, Path workDir)
      throws IOException {
    this(workerJar, xmx, List.of(), config, workDir);
  }

  /** The same, with more JVM options (a class-data archive, say). */
  WorkerProcess(Path workerJar, String xmx, List<String> jvmArgs, Map<String, String> config,
      Path workDir) throws IOException {
    this.httpPort = freePort();
    Path props = workDir.resolve("worker-" + httpPort + ".properties");
    StringBuilder b = new StringBuilder();
    config.forEach((k, v) -> b.append(k).append('=').append(v).append('\n'));
    b.append("http.port=").append(httpPort).append('\n');
    Files.writeString(props, b.toString());
    this.log = workDir.resolve("worker-" + httpPort + ".log");
    List<String> cmd = new ArrayList<>(List.of(workerJava(), "-Xmx" + xmx, "-Xms" + xmx));
    cmd.addAll(jvmArgs);
    // e.g. -Dkvw.bench.workerJvmArgs=-XX:StartFlightRecording=filename=w.jfr to profile it
    String extra = System.getProperty("kvw.bench.workerJvmArgs", "").trim();
    if (!extra.isEmpty()) {
      cmd.addAll(List.of(extra.split("\\s+")));
    }
    cmd.addAll(List.of("-jar", workerJar.toString(), "run", "--config", props.toString()));
    this.process = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(log.toFile()).start();
    // a bench stopped with Ctrl-C or kill must not leave its workers running (they would load
    // the machine under the next run)
    Process child = process;
    Runtime.getRuntime().addShutdownHook(new Thread(child::destroyForcibly, "kill-worker"));
    scraper.scheduleAtFixedRate(this::scrapeHeap, SCRAPE_EVERY.toMillis(),
        SCRAPE_EVERY.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * The worker's {@code java}: the bench's own, or another JDK's given as
   * {@code -Dkvw.bench.workerJava=/usr/lib/jvm/temurin-25-jdk-amd64/bin/java} (the broker, the
   * simulator and the harness stay on the bench's).
   */
  static String workerJava() {
    return otherWorkerJava().orElse(javaBin());
  }

  /** The worker's {@code java} when it is not the bench's own, for the reports. */
  static Optional<String> otherWorkerJava() {
    return Optional.ofNullable(System.getProperty("kvw.bench.workerJava"))
        .filter(java -> !java.equals(javaBin()));
  }

  static String javaBin() {
    return Path.of(System.getProperty("java.home"), "bin", "java").toString();
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0)) {
      return s.getLocalPort();
    }
  }

  private void scrapeHeap() {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + httpPort + "/metrics")).timeout(Duration.ofSeconds(2))
          .build(), HttpResponse.BodyHandlers.ofString());
      long heap = 0;
      Map<String, Double> byName = new java.util.HashMap<>();
      for (String line : r.body().split("\n")) {
        if (line.isEmpty() || line.startsWith("#")) {
          continue;
        }
        int space = line.lastIndexOf(' ');
        int brace = line.indexOf('{');
        String name = line.substring(0, brace > 0 && brace < space ? brace : space);
        double value = Double.parseDouble(line.substring(space + 1));
        byName.merge(name, value, Double::sum);
        if (line.startsWith("jvm_memory_used_bytes{") && line.contains("area=\"heap\"")) {
          heap += (long) value;
          if (line.contains("Old Gen")) {
            byName.merge("kvw_bench_old_gen_bytes", value, Double::sum);
          } else if (line.contains("Eden")) {
            byName.merge("kvw_bench_eden_bytes", value, Double::sum);
          }
        }
      }
      byName.put(HEAP_IN_USE, (double) heap);
      lastScrape = byName;
      byName.forEach((name, value) -> peaks.merge(name, value, Math::max));
    } catch (IOException | RuntimeException e) {
      // not up yet, or already gone
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * The sum of every sample of a metric in the last periodic scrape (at most
   * {@link #SCRAPE_EVERY} old), or NaN before the first. {@code kvw_bench_old_gen_bytes} and
   * {@code kvw_bench_eden_bytes} are the heap's old generation and eden in use.
   */
  double scraped(String name) {
    return lastScrape.getOrDefault(name, Double.NaN);
  }

  /** The highest value of a metric over this worker's scrapes so far, or NaN if never seen. */
  double peakScraped(String name) {
    return peaks.getOrDefault(name, Double.NaN);
  }

  /** The sum of every sample of a Prometheus metric right now, or NaN when unreachable. */
  double metric(String name) {
    Map<String, Double> samples = samples(name);
    return samples.isEmpty() ? Double.NaN
        : samples.values().stream().mapToDouble(Double::doubleValue).sum();
  }

  /**
   * Every sample of a Prometheus metric right now, by its labels ("" without any); empty when
   * the worker is unreachable.
   */
  Map<String, Double> samples(String name) {
    try {
      HttpResponse<String> r = http.send(HttpRequest.newBuilder(
          URI.create("http://127.0.0.1:" + httpPort + "/metrics")).timeout(Duration.ofSeconds(2))
          .build(), HttpResponse.BodyHandlers.ofString());
      Map<String, Double> samples = new TreeMap<>();
      for (String line : r.body().split("\n")) {
        if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
          int space = line.lastIndexOf(' ');
          samples.merge(line.substring(name.length(), space),
              Double.parseDouble(line.substring(space + 1)), Double::sum);
        }
      }
      return samples;
    } catch (IOException | RuntimeException e) {
      return Map.of();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Map.of();
    }
  }

  /** Waits until {@code /health/ready} answers 200 (intake joined); throws if it dies first. */
  void awaitReady(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("worker died; see " + log);
      }
      try {
        HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:"
            + httpPort + "/health/ready")).timeout(Duration.ofSeconds(2)).build(),
            HttpResponse.BodyHandlers.discarding());
        if (r.statusCode() == 200) {
          return;
        }
      } catch (IOException e) {
        // not listening yet
      }
      Thread.sleep(100);
    }
    throw new IllegalStateException("worker not ready after " + timeout.toSeconds() + " s; see "
        + log);
  }

  /** The port of the worker's HTTP endpoint ({@code /metrics}, {@code /health/ready}). */
  int httpPort() {
    return httpPort;
  }

  long peakHeapBytes() {
    double peak = peakScraped(HEAP_IN_USE);
    return Double.isNaN(peak) ? 0 : (long) peak;
  }

  /** CPU seconds the worker process has used so far. */
  double cpuSeconds() {
    return cpuSeconds(process.toHandle());
  }

  /** CPU seconds {@code p} has used so far, as the OS reports it; NaN where it does not. */
  static double cpuSeconds(ProcessHandle p) {
    return p.info().totalCpuDuration().map(d -> d.toMillis() / 1000.0).orElse(Double.NaN);
  }

  /** CPU seconds the worker's JIT compiler threads have used so far (NaN if unknown). */
  double compilerCpuSeconds() {
    return HarnessJvm.compilerCpuSeconds(process.pid());
  }

  boolean isAlive() {
    return process.isAlive();
  }

  Path log() {
    return log;
  }

  /** SIGKILL: no drain, no commit; what was in flight is delivered again. */
  void kill() throws InterruptedException {
    scraper.shutdownNow();
    process.destroyForcibly();
    process.waitFor();
  }

  long pid() {
    return process.pid();
  }

  /** SIGTERM, then waits for the drain; returns the exit code. */
  int stop(Duration timeout) throws InterruptedException {
    scraper.shutdownNow();
    process.destroy();
    if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      process.destroyForcibly();
      process.waitFor();
      return -1;
    }
    return process.exitValue();
  }

  @Override
  public void close() throws InterruptedException {
    if (process.isAlive()) {
      stop(Duration.ofSeconds(60));
    }
  }
}
