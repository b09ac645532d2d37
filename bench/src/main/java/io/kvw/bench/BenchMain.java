package io.kvw.bench;

import io.kvw.testkit.kafka.EmbeddedKafka;
import io.kvw.testkit.sim.VllmSimulator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The load harness. {@code java -jar bench/target/bench.jar SCENARIO [--requests N]}; each
 * scenario starts an embedded broker and the vLLM simulator in this JVM, runs the worker as
 * its own process ({@code java -jar worker/target/worker.jar run}), drives a fixed number of
 * requests through it and writes its section of BENCHMARKS.md.
 *
 * <ul>
 *   <li>{@code saturation}: simulator at 200 ms per request, max_num_seqs 256, worker
 *       max-in-flight 256: achieved requests/s over the simulator's capacity (1,280/s).
 *   <li>{@code backlog}: 1,000,000 small requests queued before the worker starts, worker heap
 *       capped at 256 MiB: time to drain and peak heap.
 * </ul>
 */
public final class BenchMain {

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println("usage: bench.jar saturation|saturation-llm|sharing|sharing-latency"
          + "|overhead|backlog|share-scaling [--requests N]"
          + " | reliability [--only NAME,...] [--intake consumer|share]");
      System.exit(2);
    }
    String scenario = args[0];
    Map<String, String> opts = new HashMap<>();
    for (int i = 1; i + 1 < args.length; i += 2) {
      opts.put(args[i].replaceFirst("^--", ""), args[i + 1]);
    }
    Path root = Path.of(opts.getOrDefault("root", ".")).toAbsolutePath().normalize();
    Path workerJar = root.resolve("worker/target/worker.jar");
    if (!Files.exists(workerJar)) {
      System.err.println("build first: ./mvnw -B -q package -DskipTests (no " + workerJar + ")");
      System.exit(2);
    }
    Path work = Files.createTempDirectory("kvw-bench");
    int code = switch (scenario) {
      case "saturation" -> saturation(root, workerJar, work,
          Integer.parseInt(opts.getOrDefault("requests", "40000")));
      case "backlog" -> backlog(root, workerJar, work,
          Integer.parseInt(opts.getOrDefault("requests", "1000000")));
      case "saturation-llm" -> {
        ConcurrencySuite.ensureDocs(root);
        yield new ConcurrencySuite(root, workerJar, work).saturation(
            Integer.parseInt(opts.getOrDefault("requests", "20000")));
      }
      case "sharing", "sharing-latency" -> {
        ConcurrencySuite.ensureDocs(root);
        yield new ConcurrencySuite(root, workerJar, work).sharing(
            Integer.parseInt(opts.getOrDefault("requests", "60000")), scenario.equals("sharing"));
      }
      case "overhead" -> new ConcurrencySuite(root, workerJar, work).overhead(
          Integer.parseInt(opts.getOrDefault("requests", "200000")));
      case "share-scaling" -> ShareScaling.run(root, workerJar, work,
          Integer.parseInt(opts.getOrDefault("requests", "8000")));
      case "reliability" -> new Reliability(root, workerJar, work, opts.getOrDefault("intake",
          "consumer")).run(
          opts.containsKey("only") ? List.of(opts.get("only").split(",")) : List.of());
      default -> {
        System.err.println("unknown scenario " + scenario);
        yield 2;
      }
    };
    System.exit(code);
  }

  private static Map<String, String> withMaxInFlight(Map<String, String> c, int n) {
    c.put("worker.max-in-flight", Integer.toString(n));
    return c;
  }

  static int saturation(Path root, Path workerJar, Path work, int requests) throws Exception {
    int maxNumSeqs = 256;
    Duration perRequest = Duration.ofMillis(200);
    double capacity = maxNumSeqs / (perRequest.toMillis() / 1000.0);
    try (EmbeddedKafka kafka = EmbeddedKafka.builder().build();
        VllmSimulator sim = VllmSimulator.builder().modelName("sim-model")
            .timeToFirstToken(perRequest).timePerOutputToken(Duration.ZERO)
            .outputTokens(1).maxNumSeqs(maxNumSeqs).build()) {
      kafka.start();
      sim.start();
      Topics.create(kafka, "sat", 6);
      double produceSeconds = Load.produce(kafka.bootstrapServers(), "sat.requests", requests,
          1);
      System.out.printf("produced %d requests in %.1f s%n", requests, produceSeconds);
      try (ResultTally tally = new ResultTally(kafka.bootstrapServers(), "sat.results",
          requests);
          WorkerProcess worker = new WorkerProcess(workerJar, "1g",
              withMaxInFlight(Topics.workerConfig(kafka, sim, "sat"), 256), work)) {
        boolean all = tally.readAll(Duration.ofMinutes(10), () -> { });
        double cpu = worker.cpuSeconds();
        int exit = worker.stop(Duration.ofSeconds(60));
        double rate = tally.steadyRate();
        String body = String.format(Locale.ROOT, """
            Simulator: 200 ms per request (time to first token 200 ms, 1 output token), \
            max_num_seqs 256, so its capacity is 256 / 0.2 s = **%.0f requests/s**. \
            Worker: one process, `worker.max-in-flight=256`, defaults otherwise; %d requests \
            queued on 6 partitions before it starts.

            | figure | value |
            | --- | --- |
            | requests answered | %d of %d (%d error results, %d duplicates) |
            | steady-state throughput (10th to 90th percentile of answers) | %.0f requests/s |
            | **throughput / simulator capacity** | **%.1f %%** |
            | worker CPU | %.1f s for %d requests (%.2f CPU-s per 1,000) |
            | time the worker adds to a request, p50 / p99 (`total_ms - backend_ms`) | %d / %d ms |
            | worker exit code after SIGTERM | %d |
            """, capacity, requests, tally.distinct, requests, tally.errors, tally.duplicates,
            rate, 100 * rate / capacity, cpu, requests, 1000 * cpu / requests,
            tally.addedMs.getValueAtPercentile(50), tally.addedMs.getValueAtPercentile(99),
            exit);
        Report.write(root.resolve("BENCHMARKS.md"), "saturation",
            "Saturation: one worker against a 1,280 requests/s simulator",
            "java -jar bench/target/bench.jar saturation --requests " + requests, body);
        return all && exit == 0 ? 0 : 1;
      }
    }
  }

  static int backlog(Path root, Path workerJar, Path work, int requests) throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.builder().build();
        VllmSimulator sim = VllmSimulator.builder().modelName("sim-model")
            .timeToFirstToken(Duration.ZERO).timePerOutputToken(Duration.ZERO)
            .outputTokens(1).maxNumSeqs(1024).build()) {
      kafka.start();
      sim.start();
      Topics.create(kafka, "backlog", 6);
      double produceSeconds = Load.produce(kafka.bootstrapServers(), "backlog.requests",
          requests, 1);
      System.out.printf("produced a backlog of %d requests in %.1f s%n", requests,
          produceSeconds);
      try (ResultTally tally = new ResultTally(kafka.bootstrapServers(), "backlog.results",
          requests);
          WorkerProcess worker = new WorkerProcess(workerJar, "256m",
              withMaxInFlight(Topics.workerConfig(kafka, sim, "backlog"), 256), work)) {
        boolean all = tally.readAll(Duration.ofMinutes(30), () -> {
          if (!worker.isAlive()) {
            throw new IllegalStateException("worker died; see " + worker.log());
          }
        });
        double seconds = tally.seconds();
        double cpu = worker.cpuSeconds();
        long peak = worker.peakHeapBytes();
        int exit = worker.stop(Duration.ofSeconds(60));
        boolean oom = Files.readString(worker.log()).contains("OutOfMemoryError");
        String body = String.format(Locale.ROOT, """
            %d small requests queued on 6 partitions before the worker starts; the worker \
            runs with `-Xmx256m` and default settings (`worker.max-in-flight=256`, \
            `worker.max-buffered=1024`); the simulator answers at once.

            | figure | value |
            | --- | --- |
            | requests answered | %d of %d (%d error results, %d duplicates) |
            | time to drain the backlog | %.0f s (%.0f requests/s) |
            | peak heap in use (scraped from `/metrics` every 500 ms) | %.1f MiB of 256 MiB |
            | OutOfMemoryError | %s |
            | worker CPU | %.0f s (%.2f CPU-s per 1,000 requests) |
            | worker exit code after SIGTERM | %d |
            """, requests, tally.distinct, requests, tally.errors, tally.duplicates, seconds,
            tally.distinct / Math.max(seconds, 1e-9), peak / 1048576.0, oom ? "yes" : "no",
            cpu, 1000 * cpu / requests, exit);
        Report.write(root.resolve("BENCHMARKS.md"), "backlog",
            "Backlog: 1,000,000 queued requests with a 256 MiB heap",
            "java -jar bench/target/bench.jar backlog --requests " + requests, body);
        return all && !oom && exit == 0 ? 0 : 1;
      }
    }
  }
}
