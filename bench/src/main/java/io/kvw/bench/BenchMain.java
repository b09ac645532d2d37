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
 *   <li>{@code saturation}: simulator at 200 ms per request, max_num_seqs 256, a cold worker
 *       with default settings, three times: achieved requests/s over the simulator's capacity
 *       (1,280/s), time to reach it, and the batch sizes vLLM ran.
 *   <li>{@code saturation-delivery}: the same in both delivery modes, interleaved, three runs
 *       each: exactly-once throughput against at-least-once.
 *   <li>{@code backlog}: 1,000,000 small requests queued before the worker starts, worker heap
 *       capped at 256 MiB: time to drain and peak heap.
 *   <li>{@code latency}: requests produced open loop at 25, 50 and 90 % of that simulator's
 *       capacity, cold and warm: the time the worker adds to each ({@link LatencyBench}).
 * </ul>
 */
public final class BenchMain {

  /** {@code k=v,k=v} as a map; empty for an empty string. */
  private static Map<String, String> keyValues(String pairs) {
    Map<String, String> out = new java.util.LinkedHashMap<>();
    for (String pair : pairs.split(",")) {
      if (!pair.isBlank()) {
        int eq = pair.indexOf('=');
        out.put(pair.substring(0, eq).trim(), pair.substring(eq + 1).trim());
      }
    }
    return out;
  }

  public static void main(String[] args) throws Exception {
    if (args.length == 0) {
      System.err.println("usage: bench.jar saturation [--requests N] [--reps N] [--cds off]"
          + " | sharing|sharing-latency [--requests N] [--reps N]"
          + " | saturation-llm|backlog [--requests N]"
          + " | overhead [--warmup N]|share-scaling|saturation-delivery [--requests N] [--reps N]"
          + " (share-scaling: [--share-config k=v,...] [--request-ms N])"
          + " | latency [--reps N] [--seconds S] [--cold N] [--warm-up MAX_S] [--aot on]"
          + " | reliability [--only NAME,...] [--mode at-least-once|exactly-once|share|both|all]");
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
          Integer.parseInt(opts.getOrDefault("requests", "30000")),
          Integer.parseInt(opts.getOrDefault("reps", "3")),
          !opts.getOrDefault("cds", "on").equals("off"));
      case "saturation-delivery" -> saturationDelivery(root, workerJar, work,
          Integer.parseInt(opts.getOrDefault("requests", "20000")),
          Integer.parseInt(opts.getOrDefault("reps", "3")));
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
            Integer.parseInt(opts.getOrDefault("requests", "60000")), scenario.equals("sharing"),
            Integer.parseInt(opts.getOrDefault("reps", "3")));
      }
      case "overhead" -> new ConcurrencySuite(root, workerJar, work).overhead(
          Integer.parseInt(opts.getOrDefault("requests", "100000")),
          // about a minute at the worker's warm rate: after 400,000 its JIT compiler threads
          // were still 26-31 % of its CPU in the measured window, after 1,200,000 0-3 %
          Integer.parseInt(opts.getOrDefault("warmup", "1200000")),
          Integer.parseInt(opts.getOrDefault("reps", "3")));
      case "latency" -> new LatencyBench(root, workerJar, work,
          opts.getOrDefault("aot", "off").equals("on")).run(
          Integer.parseInt(opts.getOrDefault("reps", "3")),
          Integer.parseInt(opts.getOrDefault("seconds", "10")),
          Integer.parseInt(opts.getOrDefault("cold", "10000")),
          Integer.parseInt(opts.getOrDefault("warm-up", "120")));
      case "share-scaling" -> ShareScaling.run(root, workerJar, work,
          Integer.parseInt(opts.getOrDefault("requests", "8000")),
          Integer.parseInt(opts.getOrDefault("reps", "1")),
          keyValues(opts.getOrDefault("share-config", "")),
          Integer.parseInt(opts.getOrDefault("request-ms",
              Integer.toString(ShareScaling.DEFAULT_REQUEST_MS))));
      case "reliability" -> new Reliability(root, workerJar, work).run(
          opts.containsKey("only") ? List.of(opts.get("only").split(",")) : List.of(),
          switch (opts.getOrDefault("mode", "both")) {
            case "both" -> List.of("at-least-once", "exactly-once");
            case "all" -> List.of("at-least-once", "exactly-once", Reliability.SHARE);
            default -> List.of(opts.get("mode").split(","));
          });
      default -> {
        System.err.println("unknown scenario " + scenario);
        yield 2;
      }
    };
    System.exit(code);
  }

  static Map<String, String> withMaxInFlight(Map<String, String> c, int n) {
    c.put("worker.max-in-flight", Integer.toString(n));
    return c;
  }

  /**
   * One worker with default settings against a 256-slot, 200 ms simulator, {@code reps} times
   * (each a cold worker against the same, warmed, simulator and broker), then once each with
   * a fixed limit of 256 (the slots) and 1,024, for the batch sizes vLLM runs under each.
   */
  static int saturation(Path root, Path workerJar, Path work, int requests, int reps,
      boolean cds) throws Exception {
    int maxNumSeqs = 256;
    Duration perRequest = Duration.ofMillis(200);
    double capacity = maxNumSeqs / (perRequest.toMillis() / 1000.0);
    Map<String, Map<String, String>> setups = new java.util.LinkedHashMap<>();
    for (int rep = 1; rep <= reps; rep++) {
      setups.put("defaults, run " + rep, Map.of());
    }
    setups.put("`worker.concurrency=fixed`, `worker.max-in-flight=256`",
        Map.of("worker.concurrency", "fixed", "worker.max-in-flight", "256"));
    setups.put("`worker.concurrency=fixed`, `worker.max-in-flight=1024`",
        Map.of("worker.concurrency", "fixed", "worker.max-in-flight", "1024"));
    Map<String, SaturationRun> runs = new java.util.LinkedHashMap<>();
    try (EmbeddedKafka kafka = EmbeddedKafka.builder().build();
        VllmSimulator sim = VllmSimulator.builder().modelName("sim-model")
            .timeToFirstToken(perRequest).timePerOutputToken(Duration.ZERO)
            .outputTokens(1).maxNumSeqs(maxNumSeqs).build()) {
      kafka.start();
      sim.start();
      // the worker starts cold, the simulator must not: its own warm-up is not the worker's
      System.out.printf("simulator warmed with %.0f requests/s%n",
          ConcurrencySuite.grpcCeiling(sim, 8_000, maxNumSeqs));
      // as deploy/Dockerfile does: a training run, then an archive of the classes it loaded
      List<String> jvmArgs = cds ? List.of(ClassDataArchive.make(kafka, sim, workerJar, work,
          5_000)) : List.of();
      int i = 0;
      for (Map.Entry<String, Map<String, String>> setup : setups.entrySet()) {
        runs.put(setup.getKey(), SaturationRun.run(kafka, sim, workerJar, work, "sat" + ++i,
            requests, jvmArgs, setup.getValue()));
      }
    }
    StringBuilder table = new StringBuilder("""
        | worker | steady (10th–90th pct of answers) | first answer to last | time to 90 % \
        of steady, from the first poll | vLLM running, p10 / p50 / p90 | vLLM waiting, \
        p50 / p90 | worker CPU-s per 1,000 | answered (errors, duplicates) | exit |
        | --- | --- | --- | --- | --- | --- | --- | --- | --- |
        """);
    boolean complete = true;
    for (Map.Entry<String, SaturationRun> e : runs.entrySet()) {
      SaturationRun r = e.getValue();
      complete &= r.complete();
      table.append(String.format(Locale.ROOT, "| %s | %.0f/s, **%.1f %%** | %.0f/s, **%.1f %%** "
          + "| %.2f s | %d / %d / %d | %d / %d | %.2f | %d (%d, %d) | %d |%n", e.getKey(),
          r.rate(), 100 * r.rate() / capacity, r.firstToLast(), 100 * r.firstToLast() / capacity,
          r.secondsTo90(), r.running()[0], r.running()[1], r.running()[2], r.waiting()[0],
          r.waiting()[1], 1000 * r.cpuSeconds() / requests, r.answered(), r.errors(),
          r.duplicates(), r.exit()));
    }
    List<SaturationRun> defaults = runs.values().stream().limit(reps).toList();
    String body = String.format(Locale.ROOT, """
        Simulator: 200 ms per request (time to first token 200 ms, 1 output token), \
        max_num_seqs 256, so its capacity is 256 / 0.2 s = **%.0f requests/s**; it is warmed \
        with a few seconds of gRPC load first. Each run: %d requests queued on 6 partitions \
        of fresh topics before a **cold** worker process starts (`java %s-jar worker.jar \
        run`, `-Xmx1g`%s); *defaults* sets nothing but the broker, the target and the topics. \
        vLLM's \
        running and waiting counts (what `GetLoads` reports) are sampled every 50 ms over the \
        steady part of the run. *Time to 90 %%* runs from the worker's first poll (its first \
        result's timestamp less its `total_ms`) to the end of the first 500 ms in which it \
        published 90 %% of its steady rate; it includes the 200 ms the first calls take.

        %s
        Defaults, %d runs: steady **%s** of capacity (target ≥ 97 %%), first answer to last \
        **%s** (target ≥ 95 %%), time to 90 %% of steady **%s** (target < 2 s); median and \
        range.
        """, capacity, requests, cds ? "-XX:SharedArchiveFile=worker.jsa " : "",
        cds ? "; the class-data archive is made from a 5,000-request training run as "
            + "`deploy/Dockerfile` does, and `--cds off` leaves it out" : "", table, reps,
        spread(defaults.stream().mapToDouble(r -> 100 * r.rate() / capacity), "%.1f %%"),
        spread(defaults.stream().mapToDouble(r -> 100 * r.firstToLast() / capacity), "%.1f %%"),
        spread(defaults.stream().mapToDouble(SaturationRun::secondsTo90), "%.2f s"));
    Report.write(root.resolve("BENCHMARKS.md"), "saturation",
        "Saturation: one worker with default settings against a 1,280 requests/s simulator",
        "java -jar bench/target/bench.jar saturation --requests " + requests + " --reps "
            + reps + (cds ? "" : " --cds off"), body);
    return complete ? 0 : 1;
  }

  /** "median (min–max)" of some values, each formatted with {@code format}. */
  static String spread(java.util.stream.DoubleStream values, String format) {
    double[] v = values.sorted().toArray();
    return String.format(Locale.ROOT, format + " (" + format + "–" + format + ")",
        v[v.length / 2], v[0], v[v.length - 1]);
  }

  /**
   * The saturation scenario in both delivery modes, interleaved in one run (at-least-once,
   * exactly-once, at-least-once, ...), each on fresh topics against the same broker and
   * simulator, so that load from elsewhere on the machine falls on both alike.
   */
  static int saturationDelivery(Path root, Path workerJar, Path work, int requests, int reps)
      throws Exception {
    int maxNumSeqs = 256;
    Duration perRequest = Duration.ofMillis(200);
    double capacity = maxNumSeqs / (perRequest.toMillis() / 1000.0);
    List<String> modes = List.of("at-least-once", "exactly-once");
    Map<String, List<SaturationRun>> runs = new java.util.LinkedHashMap<>();
    try (EmbeddedKafka kafka = EmbeddedKafka.builder().build();
        VllmSimulator sim = VllmSimulator.builder().modelName("sim-model")
            .timeToFirstToken(perRequest).timePerOutputToken(Duration.ZERO)
            .outputTokens(1).maxNumSeqs(maxNumSeqs).build()) {
      kafka.start();
      sim.start();
      for (int rep = 1; rep <= reps; rep++) {
        for (String mode : modes) {
          runs.computeIfAbsent(mode, m -> new java.util.ArrayList<>()).add(SaturationRun.run(
              kafka, sim, workerJar, work, "sd-" + mode.charAt(0) + rep, requests,
              Map.of("worker.delivery", mode)));
        }
      }
    }
    StringBuilder table = new StringBuilder("| mode |");
    for (int rep = 1; rep <= reps; rep++) {
      table.append(" run ").append(rep).append(" |");
    }
    table.append(" median | / capacity | duplicates (read_committed) | worker CPU-s per 1,000 "
        + "(median) |\n|" + " --- |".repeat(reps + 5) + "\n");
    Map<String, Double> median = new HashMap<>();
    boolean complete = true;
    for (String mode : modes) {
      List<SaturationRun> rs = runs.get(mode);
      double[] rates = rs.stream().mapToDouble(SaturationRun::rate).sorted().toArray();
      double[] cpu = rs.stream().mapToDouble(r -> 1000 * r.cpuSeconds() / r.requests())
          .sorted().toArray();
      median.put(mode, rates[rates.length / 2]);
      table.append("| `").append(mode).append("` |");
      for (SaturationRun r : rs) {
        table.append(String.format(Locale.ROOT, " %.0f/s |", r.rate()));
        complete &= r.complete();
      }
      table.append(String.format(Locale.ROOT, " **%.0f/s** | %.1f %% | %d | %.2f |\n",
          rates[rates.length / 2], 100 * rates[rates.length / 2] / capacity,
          rs.stream().mapToInt(SaturationRun::duplicates).sum(), cpu[cpu.length / 2]));
    }
    double ratio = median.get("exactly-once") / median.get("at-least-once");
    String body = String.format(Locale.ROOT, """
        The saturation setup above (simulator capacity %.0f requests/s, one worker with \
        default settings, %d requests on 6 partitions per run) in both delivery \
        modes, %d runs each, interleaved in one run of the harness; results are read with \
        `isolation.level=read_committed`. Exactly-once commits one transaction per \
        `worker.commit-interval` (100 ms by default).

        %s
        **Exactly-once / at-least-once, medians: %.1f %%** (target: within 10 %%, i.e. \
        at least 90 %%). Single runs scatter (broker, simulator and worker share the machine); \
        the spread is in the table.
        """, capacity, requests, reps, table, 100 * ratio);
    Report.write(root.resolve("BENCHMARKS.md"), "saturation-delivery",
        "Saturation in both delivery modes: exactly-once against at-least-once",
        "java -jar bench/target/bench.jar saturation-delivery --requests " + requests
            + " --reps " + reps, body);
    return complete ? 0 : 1;
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
            | peak heap in use (scraped from `/metrics` every second) | %.1f MiB of 256 MiB |
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
