package io.kvw.bench;

import io.kvw.testkit.kafka.EmbeddedKafka;
import io.kvw.testkit.sim.SimTokenizer;
import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.backend.GenerationCall;
import io.kvw.worker.backend.InferenceBackend;
import io.kvw.worker.backend.VllmBackendFactory;
import io.kvw.worker.config.WorkerConfig;
import io.kvw.common.InferenceRequest;
import io.kvw.common.SamplingParams;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.DoubleSummaryStatistics;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.stream.Collectors;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * The concurrency benchmarks: adaptive against fixed against the naive baseline on a
 * realistically timed simulator, several workers sharing one simulator, and the worker's
 * overhead next to two ceilings measured in the same run.
 */
final class ConcurrencySuite {
  private final Path root;
  private final Path workerJar;
  private final Path work;

  ConcurrencySuite(Path root, Path workerJar, Path work) {
    this.root = root;
    this.workerJar = workerJar;
    this.work = work;
  }

  /** 50 ms to first token, 10 ms per token, 64 tokens, 256 sequences: 376 requests/s. */
  private static VllmSimulator realistic() {
    return realistic(true);
  }

  /** The same, answering {@code GetLoads} or not. */
  private static VllmSimulator realistic(boolean loadReports) {
    return VllmSimulator.builder().timeToFirstToken(Duration.ofMillis(50))
        .timePerOutputToken(Duration.ofMillis(10)).outputTokens(64).maxNumSeqs(256)
        .loadReports(loadReports).build().start();
  }

  private static Map<String, String> config(EmbeddedKafka kafka, VllmSimulator sim, String name,
      String concurrency) {
    Map<String, String> c = Topics.workerConfig(kafka, sim, name);
    c.put("worker.concurrency", concurrency);
    return c;
  }

  private static void topics(EmbeddedKafka kafka, String name) {
    Topics.create(kafka, name, 6);
  }

  /** One worker mode's run, with its time series. */
  record Run(String label, double rate, long addedP50, long addedP99, long ownP50, long ownP99,
      List<double[]> throughput, List<double[]> serverQueue, List<double[]> limit) {}

  private Run runWorker(EmbeddedKafka kafka, VllmSimulator sim, String name, String mode,
      int requests) throws Exception {
    topics(kafka, name);
    Load.produce(kafka.bootstrapServers(), name + ".requests", requests, 64);
    List<double[]> tput = new ArrayList<>();
    List<double[]> queue = new ArrayList<>();
    List<double[]> limit = new ArrayList<>();
    Map<String, String> c = config(kafka, sim, name, mode);
    // a ceiling far above the server's 256 slots: fixed uses all of it, adaptive must find
    // the right number by itself
    c.put("worker.max-in-flight", "1024");
    try (ResultTally tally = new ResultTally(kafka.bootstrapServers(), name + ".results",
        requests);
        WorkerProcess worker = new WorkerProcess(workerJar, "1g", c, work)) {
      long t0 = System.nanoTime();
      int[] last = {0};
      tally.readAll(Duration.ofMinutes(10), () -> {
        double t = (System.nanoTime() - t0) / 1e9;
        tput.add(new double[] {t, tally.distinct - last[0]});
        last[0] = tally.distinct;
        queue.add(new double[] {t, sim.stats().waiting()});
        double l = worker.metric("kvw_backend_limit");
        limit.add(new double[] {t, Double.isNaN(l) ? 0 : l});
      });
      worker.stop(Duration.ofSeconds(60));
      return new Run(mode, tally.steadyRate(), tally.addedMs.getValueAtPercentile(50),
          tally.addedMs.getValueAtPercentile(99), tally.ownMs.getValueAtPercentile(50),
          tally.ownMs.getValueAtPercentile(99), tput, queue, limit);
    }
  }

  int saturation(int requests) throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.builder().build().start();
        VllmSimulator sim = realistic()) {
      double capacity = sim.capacity(64);
      Run adaptive = runWorker(kafka, sim, "llm-adaptive", "adaptive", requests);
      Run fixed = runWorker(kafka, sim, "llm-fixed", "fixed", requests);
      int naiveRequests = 600;
      topics(kafka, "llm-naive");
      Load.produce(kafka.bootstrapServers(), "llm-naive.requests", naiveRequests, 64);
      double naiveRate;
      try (ResultTally tally = new ResultTally(kafka.bootstrapServers(), "llm-naive.results",
          naiveRequests);
          NaiveWorker naive = new NaiveWorker(kafka.bootstrapServers(), "llm-naive.requests",
              "llm-naive.results", sim.target(), SimTokenizer.extract())) {
        tally.readAll(Duration.ofMinutes(5), () -> { });
        naiveRate = tally.steadyRate();
      }
      new LinePlot("Throughput: adaptive vs fixed worker, simulator capacity "
          + Math.round(capacity) + "/s", "seconds", "answers/s")
          .add("adaptive (ceiling 1024)", adaptive.throughput())
          .add("fixed 1024", fixed.throughput())
          .write(root.resolve("docs/bench-throughput.png"));
      new LinePlot("vLLM simulator queue (waiting requests) and the adaptive limit", "seconds",
          "requests").add("vLLM queue, adaptive", adaptive.serverQueue())
          .add("vLLM queue, fixed 1024", fixed.serverQueue())
          .add("adaptive limit", adaptive.limit())
          .write(root.resolve("docs/bench-queue.png"));
      String body = String.format(Locale.ROOT, """
          Simulator: 50 ms to first token, 10 ms per output token, 64 output tokens, \
          max_num_seqs 256: capacity 256 / 0.68 s = **%.0f requests/s**. %d requests queued \
          on 6 partitions per worker run; the naive baseline gets %d.

          | worker | requests/s (steady) | of capacity | added latency p50 / p99 | of it, the worker's own handling p50 / p99 |
          | --- | --- | --- | --- | --- |
          | adaptive (default; `worker.max-in-flight=1024` only as ceiling) | %.0f | **%.1f %%** | %d / %d ms | %d / %d ms |
          | fixed, `worker.concurrency=fixed`, `worker.max-in-flight=1024` | %.0f | %.1f %% | %d / %d ms | %d / %d ms |
          | naive baseline: 1 consumer, queue of 100, 10 threads, blocking calls | %.1f | %.1f %% | | |

          **Adaptive / naive: %.1f×.** *Added latency* is `total_ms - backend_ms` of each \
          result: mostly the wait for a permit in the worker (a backlog was queued on \
          purpose). *The worker's own handling* leaves that wait out too \
          (`total_ms - queue_ms - backend_ms`: from the end of the call to the result built; \
          a result cannot carry the time of its own publishing). With the fixed limit the \
          wait happens in vLLM's queue instead (counted in `backend_ms`, so not here): the \
          second plot shows that queue, which the adaptive limit keeps short while the \
          throughput stays the same.

          ![throughput](docs/bench-throughput.png)
          ![queue](docs/bench-queue.png)
          """, capacity, requests, naiveRequests, adaptive.rate(),
          100 * adaptive.rate() / capacity, adaptive.addedP50(), adaptive.addedP99(),
          adaptive.ownP50(), adaptive.ownP99(), fixed.rate(), 100 * fixed.rate() / capacity,
          fixed.addedP50(), fixed.addedP99(), fixed.ownP50(), fixed.ownP99(),
          naiveRate, 100 * naiveRate / capacity, adaptive.rate() / naiveRate);
      Report.write(root.resolve("BENCHMARKS.md"), "saturation-llm",
          "Saturation with a realistic timing model: adaptive, fixed, and the naive baseline",
          "java -jar bench/target/bench.jar saturation-llm --requests " + requests, body);
      return adaptive.rate() >= 0.95 * capacity && adaptive.rate() >= 10 * naiveRate ? 0 : 1;
    }
  }

  private static final String OK = "outcome=\"ok\"";

  /** Each worker's limit and the simulator's waiting queue over time, from start-up on. */
  private static final class LimitTrace {
    private final List<WorkerProcess> workers;
    private final VllmSimulator sim;
    private final long start = System.nanoTime();
    private final List<List<double[]>> limits = new ArrayList<>();
    private final List<double[]> queue = new ArrayList<>();

    LimitTrace(List<WorkerProcess> workers, VllmSimulator sim) {
      this.workers = workers;
      this.sim = sim;
      workers.forEach(w -> limits.add(new ArrayList<>()));
    }

    void sampleAfter(Duration pause) throws InterruptedException {
      Thread.sleep(pause.toMillis());
      double t = (System.nanoTime() - start) / 1e9;
      for (int i = 0; i < workers.size(); i++) {
        double limit = workers.get(i).metric("kvw_backend_limit");
        if (!Double.isNaN(limit)) {
          limits.get(i).add(new double[] {t, limit});
        }
      }
      queue.add(new double[] {t, sim.stats().waiting()});
    }

    /** Samples taken so far (of the simulator's queue, which never misses one). */
    int samples() {
      return queue.size();
    }

    /** "min–max" of a worker's limit over the samples taken after the first {@code from}. */
    String limitRange(int worker, int from) {
      double since = queue.get(Math.min(from, queue.size() - 1))[0];
      DoubleSummaryStatistics s = limits.get(worker).stream().filter(p -> p[0] >= since)
          .mapToDouble(p -> p[1]).summaryStatistics();
      return String.format(Locale.ROOT, "%.0f–%.0f", s.getMin(), s.getMax());
    }

    void plot(String title, Path file) throws IOException {
      LinePlot plot = new LinePlot(title, "seconds since the workers started", "requests");
      for (int i = 0; i < workers.size(); i++) {
        plot.add("worker " + (i + 1) + " limit", limits.get(i));
      }
      plot.add("simulator queue (waiting)", queue).write(file);
    }
  }

  /**
   * Shares are measured over a fixed window once every worker has joined and warmed up, while
   * every one of them still has a backlog on its partitions: outside that window a worker's
   * count says more about how Kafka spread the partitions than about the limit.
   *
   * @param loadReports whether the simulator answers {@code GetLoads}; without it every worker
   *     falls back to the latency rule (section {@code sharing-latency})
   */
  int sharing(int requests, boolean loadReports, int reps) throws Exception {
    String section = loadReports ? "sharing" : "sharing-latency";
    StringBuilder rows = new StringBuilder();
    boolean ok = true;
    double[] worstOff = new double[2]; // with 2 and with 3 workers, over the runs
    Duration window = Duration.ofSeconds(30);
    try (EmbeddedKafka kafka = EmbeddedKafka.builder().build().start();
        VllmSimulator sim = realistic(loadReports)) {
      double capacity = sim.capacity(64);
      // one worker once, then 2 and 3 workers sharing the server, {@code reps} times each
      for (int run = 0; run < 1 + 2 * reps; run++) {
        int k = run == 0 ? 1 : 2 + (run - 1) % 2;
        int rep = run == 0 ? 1 : 1 + (run - 1) / 2;
        String name = "share-" + k + "-" + rep;
        topics(kafka, name);
        Load.produce(kafka.bootstrapServers(), name + ".requests", requests, 64);
        List<WorkerProcess> workers = new ArrayList<>();
        try {
          for (int i = 0; i < k; i++) {
            Map<String, String> c = config(kafka, sim, name, "adaptive");
            c.put("worker.id", name + "-w" + i);
            workers.add(new WorkerProcess(workerJar, "512m", c, work));
          }
          // every worker's limit and the simulator's queue, once a second from start-up on
          LimitTrace trace = new LimitTrace(workers, sim);
          long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
          while (workers.stream().anyMatch(w -> !(w.metric("kvw_outcomes_total") > 0))
              && System.nanoTime() < deadline) {
            trace.sampleAfter(Duration.ofMillis(250));
          }
          for (int second = 0; second < 8; second++) {
            trace.sampleAfter(Duration.ofSeconds(1)); // the limits settle
          }
          // the simulator's own count of finished generations is the total; each worker's
          // answered records (not its error results, which cost the server nothing) its share
          long completedBefore = sim.stats().completed();
          long windowStart = System.nanoTime();
          List<Map<String, Double>> outcomesBefore = workers.stream()
              .map(w -> w.samples("kvw_outcomes_total")).toList();
          int windowFrom = trace.samples();
          for (int second = 0; second < window.toSeconds(); second++) {
            trace.sampleAfter(Duration.ofSeconds(1));
          }
          double served = sim.stats().completed() - completedBefore;
          // the clock, not the count of one-second pauses: scraping every worker takes time too
          double seconds = (System.nanoTime() - windowStart) / 1e9;
          double[] delta = new double[k];
          double sum = 0;
          Map<String, Double> errors = new TreeMap<>(); // by outcome label, every worker's
          for (int i = 0; i < k; i++) {
            Map<String, Double> was = outcomesBefore.get(i);
            for (Map.Entry<String, Double> e : workers.get(i).samples("kvw_outcomes_total")
                .entrySet()) {
              double d = e.getValue() - was.getOrDefault(e.getKey(), 0.0);
              if (e.getKey().contains(OK)) {
                delta[i] += d;
              } else if (d > 0) {
                errors.merge(e.getKey(), d, Double::sum);
              }
            }
            sum += delta[i];
          }
          StringBuilder s = new StringBuilder();
          StringBuilder limits = new StringBuilder();
          double min = 1;
          double off = 0; // the worst distance from an even share, in points
          for (int i = 0; i < k; i++) {
            s.append(i == 0 ? "" : " / ").append(String.format(Locale.ROOT, "%.0f %%",
                100 * delta[i] / sum));
            limits.append(i == 0 ? "" : " / ").append(trace.limitRange(i, windowFrom));
            min = Math.min(min, delta[i] / sum);
            off = Math.max(off, Math.abs(100 * delta[i] / sum - 100.0 / k));
          }
          double rate = served / seconds;
          ok &= rate >= 0.95 * capacity && (k == 1 || min >= 0.25);
          if (k > 1) {
            worstOff[k - 2] = Math.max(worstOff[k - 2], off);
          }
          String errorCell = errors.isEmpty() ? "0" : errors.entrySet().stream()
              .map(e -> String.format(Locale.ROOT, "%.0f `%s`", e.getValue(), e.getKey()))
              .collect(Collectors.joining(", "));
          rows.append(String.format(Locale.ROOT,
              "| %d | %d | %.0f | **%.1f %%** | %s | %.1f | %s | %s |%n", k, rep, rate,
              100 * rate / capacity, s, off, limits, errorCell));
          if (k == 3 && rep == reps) {
            trace.plot("Three workers sharing one simulator: each one's adaptive limit"
                + (loadReports ? "" : " (no GetLoads: latency rule)"),
                root.resolve("docs/bench-" + section + ".png"));
          }
        } finally {
          for (WorkerProcess w : workers) {
            w.kill(); // the window is measured; the rest of the backlog does not matter
          }
        }
      }
      Report.write(root.resolve("BENCHMARKS.md"), section, loadReports
          ? "Sharing: 1, 2 and 3 worker processes on one simulator"
          : "Sharing without GetLoads: the latency fallback",
          "java -jar bench/target/bench.jar " + section + " --requests " + requests
              + " --reps " + reps,
          String.format(Locale.ROOT, """
              The realistic simulator (capacity %.0f requests/s)%s; %d requests queued on 6 \
              partitions per run, so every worker keeps a backlog; every worker adaptive with \
              defaults, in its own JVM. Measured over a %d s window that starts 8 s after the \
              last worker published its first result: total throughput (generations the \
              simulator finished in the window), and each worker's share of the records \
              answered in the window (`kvw_outcomes_total{outcome="ok"}`, read from each \
              worker's `/metrics`); error results in the window, which should be none.

              | workers | run | total requests/s | of capacity | each worker's share | farthest from even (points) | each worker's limit in the window (min–max) | error results |
              | --- | --- | --- | --- | --- | --- | --- | --- |
              %s
              Farthest any worker's share came from an even one over the %d runs: **%.1f \
              points** with 2 workers, **%.1f points** with 3 (target: within 5).

              ![limits of three workers sharing one simulator](docs/bench-%s.png)
              """, capacity, loadReports ? "" : ", which answers `GetLoads` with UNIMPLEMENTED "
                  + "as a server without it would, so every worker follows latency", requests,
              window.toSeconds(), rows, reps, worstOff[0], worstOff[1], section));
      return ok ? 0 : 1;
    }
  }

  /**
   * One repetition of the overhead scenario: the two ceilings and the worker, in a row. The
   * worker's rates: {@code coldRate} over its first answers (a fresh JVM), {@code workerRate}
   * over the measured pass after the warm-up pass; CPU, allocation and compiler CPU are the
   * warm window's.
   */
  record OverheadRun(double kafkaRate, double grpcRate, double coldRate, double workerRate,
      double cpuSecondsPer1000, double allocatedMiBPer1000, double compilerCpuShare,
      double benchCpuSecondsPer1000, double brokerCpuSecondsPer1000,
      double simulatorCpuSecondsPer1000, long peakHeapBytes, long liveHeapBytes) {
    double ratio() {
      return workerRate / grpcRate;
    }

    double coldRatio() {
      return coldRate / grpcRate;
    }
  }

  /**
   * The worker against an instant backend, next to a Kafka-only and a gRPC-only ceiling
   * measured just before it, {@code reps} times. The worker drains {@code warmup} requests
   * first (its JIT compiles the hot path meanwhile), then the {@code requests} measured ones
   * from the same backlog without a pause: the warm rate, CPU and allocation are taken between
   * the 10th and the 90th percentile of the measured pass's answers; the cold rate between the
   * 10th and 90th percentile of the fresh JVM's first {@code min(requests, warmup)} answers.
   * Pass or fail is the warm ratio, since the ceiling is warm too.
   */
  int overhead(int requests, int warmup, int reps) throws Exception {
    List<OverheadRun> runs = new ArrayList<>();
    try (EmbeddedKafka kafka = EmbeddedKafka.builder().build().start();
        VllmSimulator sim = VllmSimulator.builder().outputTokens(1).maxNumSeqs(4096).build()
            .start()) {
      // one unmeasured pass first: the simulator and the gRPC-only ceiling run in this JVM,
      // and cold (interpreted, not yet compiled) they made the first run's ceiling a third of
      // the later ones, so the first ratio compared a cold ceiling with a warm simulator
      grpcCeiling(sim, requests, 256);
      for (int rep = 1; rep <= reps; rep++) {
        runs.add(overheadOnce(kafka, sim, "overhead" + rep, requests, warmup));
        System.out.println("overhead run " + rep + ": " + runs.get(runs.size() - 1));
      }
    }
    StringBuilder t = new StringBuilder("| what |");
    for (int r = 1; r <= reps; r++) {
      t.append(" run ").append(r).append(" |");
    }
    t.append("\n|").append(" --- |".repeat(reps + 1)).append("\n");
    row(t, "plain Kafka consume-and-produce loop (records/s)", runs,
        r -> String.format(Locale.ROOT, "%.0f", r.kafkaRate()));
    row(t, "gRPC client only, 256 concurrent `Generate`, warm (records/s)", runs,
        r -> String.format(Locale.ROOT, "%.0f", r.grpcRate()));
    row(t, "the worker **cold**, fixed 256: first answers of a fresh JVM (records/s)", runs,
        r -> String.format(Locale.ROOT, "%.0f", r.coldRate()));
    row(t, "worker cold / gRPC only", runs,
        r -> String.format(Locale.ROOT, "%.0f %%", 100 * r.coldRatio()));
    row(t, "**the worker warm**, fixed 256: measured pass after the warm-up (records/s)", runs,
        r -> String.format(Locale.ROOT, "**%.0f**", r.workerRate()));
    row(t, "**worker warm / gRPC only**", runs,
        r -> String.format(Locale.ROOT, "**%.0f %%**", 100 * r.ratio()));
    row(t, "worker CPU-seconds per 1,000 records (warm window)", runs,
        r -> String.format(Locale.ROOT, "%.3f", r.cpuSecondsPer1000()));
    row(t, "worker allocation per 1,000 records (warm window)", runs,
        r -> String.format(Locale.ROOT, "%.1f MiB", r.allocatedMiBPer1000()));
    row(t, "JIT compiler threads' share of the worker's CPU (warm window)", runs,
        r -> String.format(Locale.ROOT, "%.1f %%", 100 * r.compilerCpuShare()));
    row(t, "bench JVM (broker, simulator, results tally) CPU-seconds per 1,000 records "
        + "(warm window)", runs,
        r -> String.format(Locale.ROOT, "%.3f", r.benchCpuSecondsPer1000()));
    row(t, "of it: the broker's request threads (`data-plane-kafka-*`: the worker's fetches, "
        + "produces and commits, the tally's fetches)", runs,
        r -> String.format(Locale.ROOT, "%.3f", r.brokerCpuSecondsPer1000()));
    row(t, "of it: the simulator's gRPC event loops (`grpc-default-worker-*`)", runs,
        r -> String.format(Locale.ROOT, "%.3f", r.simulatorCpuSecondsPer1000()));
    row(t, "peak heap in use / peak old generation", runs,
        r -> String.format(Locale.ROOT, "%.0f / %.0f MiB", r.peakHeapBytes() / 1048576.0,
            r.liveHeapBytes() / 1048576.0));
    double[] ratios = runs.stream().mapToDouble(OverheadRun::ratio).sorted().toArray();
    double[] coldRatios = runs.stream().mapToDouble(OverheadRun::coldRatio).sorted().toArray();
    double median = ratios[ratios.length / 2];
    String body = String.format(Locale.ROOT, """
        A simulator that answers at once (1 token, no delay), so the worker itself is the \
        bottleneck; %d measured requests per run, %d runs, after one unmeasured gRPC-only pass \
        that warms the bench's JVM (simulator and client). In each run the two ceilings run \
        first, in the same process tree and the same minute, both warm: a plain Kafka loop \
        (consume a record, produce it to another topic, no backend), and the worker's own gRPC \
        client pushing `Generate` straight at the simulator with the same concurrency (256), no \
        Kafka. Then a fresh worker process (`-Xmx1g -Xms1g`) drains one backlog of %d + %d \
        requests without a pause: the first %d are an unmeasured **warm-up pass** (its JIT \
        compiles the hot path meanwhile), the next %d the **measured pass**.

        - **Cold**: the fresh JVM's rate between the 10th and 90th percentile of its first \
        %d answers, started with the broker and simulator already warm.
        - **Warm**: the rate between the 10th and 90th percentile of the measured pass's \
        answers; the worker's CPU time (from the OS), its allocation (from its `/metrics`: \
        `jvm_gc_memory_allocated_bytes_total` plus what eden holds now) and its JIT compiler \
        threads' CPU (`/proc/<pid>/task`) over the same window, sampled once a second; so is the \
        bench JVM's own CPU, which hosts the broker, the simulator and the results tally on the \
        same two cores, and the part of it its broker's request threads and its simulator's \
        event loops used (each thread's CPU time, told apart by name): the broker's is paid by the \
        worker run and not by the gRPC-only ceiling, the simulator's by both. The ratio and pass or fail use the warm rate, \
        since the ceiling is measured warm.

        %s
        **Worker warm / gRPC-only, median of %d runs: %.0f %%** (spread %.0f–%.0f %%; cold \
        %.0f–%.0f %%). The peak heap in use is mostly garbage not yet collected: G1 lets the \
        young generation grow into a heap it was given whole (`-Xms1g`) and collects it when \
        full. What survives young collections lands in the old generation, so its peak bounds \
        what the worker actually holds (records in flight, buffers, meters, classes' static \
        state).
        """, requests, reps, warmup, requests, warmup, requests, Math.min(requests, warmup), t,
        reps, 100 * median, 100 * ratios[0], 100 * ratios[ratios.length - 1], 100 * coldRatios[0],
        100 * coldRatios[coldRatios.length - 1]);
    Report.write(root.resolve("BENCHMARKS.md"), "overhead",
        "Overhead: the worker next to a Kafka-only and a gRPC-only ceiling",
        "java -jar bench/target/bench.jar overhead --requests " + requests + " --warmup "
            + warmup + " --reps " + reps,
        body);
    return median >= 0.75 ? 0 : 1;
  }

  private static void row(StringBuilder t, String label, List<OverheadRun> runs,
      java.util.function.Function<OverheadRun, String> cell) {
    t.append("| ").append(label).append(" |");
    runs.forEach(r -> t.append(" ").append(cell.apply(r)).append(" |"));
    t.append("\n");
  }

  private OverheadRun overheadOnce(EmbeddedKafka kafka, VllmSimulator sim, String name,
      int requests, int warmup) throws Exception {
    topics(kafka, name);
    kafka.createTopic(name + ".copy", 6);
    int total = warmup + requests;
    Load.produce(kafka.bootstrapServers(), name + ".requests", total, 1);
    double kafkaRate = kafkaCeiling(kafka.bootstrapServers(), name + ".requests",
        name + ".copy", requests);
    Instant grpcFrom = Instant.now();
    double grpcRate = grpcCeiling(sim, requests, 256);
    // wall-clock bounds of the gRPC-only ceiling, to set its CPU beside the worker run's
    System.out.println("gRPC-only ceiling (UTC): " + grpcFrom + " to " + Instant.now());
    try (ResultTally tally = new ResultTally(kafka.bootstrapServers(), name + ".results",
        total);
        WorkerProcess worker = new WorkerProcess(workerJar, "1g",
            // the same concurrency as the gRPC-only ceiling, whatever the default cap is
            BenchMain.withMaxInFlight(config(kafka, sim, name, "fixed"), 256), work)) {
      // (answered, CPU seconds, bytes allocated, compiler CPU seconds) once a second
      List<double[]> samples = new ArrayList<>();
      double[] oldGen = {0};
      tally.readAll(Duration.ofMinutes(10), () -> {
        // from the worker's own periodic scrape: another scrape would cost it CPU
        // Micrometer counts allocation at each young collection (what eden had taken since
        // the last one), so a window between collections would see none: eden's current fill
        // is added to make a running total
        samples.add(new double[] {tally.distinct, worker.cpuSeconds(),
            worker.scraped("jvm_gc_memory_allocated_bytes_total")
                + worker.scraped("kvw_bench_eden_bytes"), worker.compilerCpuSeconds(),
            benchCpuSeconds(), threadCpuSeconds("data-plane-kafka"),
            threadCpuSeconds("grpc-default-worker")});
        double old = worker.scraped("kvw_bench_old_gen_bytes");
        if (!Double.isNaN(old)) {
          oldGen[0] = Math.max(oldGen[0], old);
        }
      });
      System.out.println("worker answers per second (warm-up pass of " + warmup
          + ", then measured pass of " + requests + "): "
          + Arrays.toString(tally.perSecond()));
      int cold = Math.min(requests, warmup);
      double coldRate = tally.rateBetween(cold / 10, cold * 9 / 10);
      int lo = warmup + requests / 10;
      int hi = warmup + requests * 9 / 10;
      double workerRate = tally.rateBetween(lo, hi);
      // wall-clock bounds of the warm window, to cut a profile of the worker to it
      long nowNanos = System.nanoTime();
      Instant now = Instant.now();
      System.out.println("warm window (UTC): " + now.minusNanos(nowNanos - tally.arrivalNanos(lo))
          + " to " + now.minusNanos(nowNanos - tally.arrivalNanos(hi)));
      double[] from = null;
      double[] to = null;
      for (double[] s : samples) {
        if (from == null && s[0] >= lo) {
          from = s;
        }
        if (s[0] <= hi) {
          to = s;
        }
      }
      double cpu = Double.NaN;
      double alloc = Double.NaN;
      double compiler = Double.NaN;
      double bench = Double.NaN;
      double broker = Double.NaN;
      double simulator = Double.NaN;
      if (from != null && to != null && to[0] > from[0]) {
        double thousands = (to[0] - from[0]) / 1000.0;
        cpu = (to[1] - from[1]) / thousands;
        alloc = (to[2] - from[2]) / 1048576.0 / thousands;
        compiler = (to[3] - from[3]) / (to[1] - from[1]);
        bench = (to[4] - from[4]) / thousands;
        broker = (to[5] - from[5]) / thousands;
        simulator = (to[6] - from[6]) / thousands;
      }
      long heap = worker.peakHeapBytes();
      worker.stop(Duration.ofSeconds(60));
      return new OverheadRun(kafkaRate, grpcRate, coldRate, workerRate, cpu, alloc, compiler,
          bench, broker, simulator, heap, (long) oldGen[0]);
    }
  }

  /** CPU seconds this JVM (broker, simulator, tally: the worker's neighbours) has used. */
  private static double benchCpuSeconds() {
    return WorkerProcess.cpuSeconds(ProcessHandle.current());
  }

  /**
   * CPU seconds this JVM's live threads named {@code prefix...} have used: the embedded broker's
   * and the simulator's threads share the bench JVM, and their names tell them apart.
   */
  private static double threadCpuSeconds(String prefix) {
    ThreadMXBean mx = ManagementFactory.getThreadMXBean();
    double seconds = 0;
    for (ThreadInfo t : mx.getThreadInfo(mx.getAllThreadIds())) {
      if (t != null && t.getThreadName().startsWith(prefix)) {
        long nanos = mx.getThreadCpuTime(t.getThreadId());
        seconds += Math.max(0, nanos) / 1e9;
      }
    }
    return seconds;
  }

  private static double kafkaCeiling(String bootstrap, String from, String to, int n) {
    Properties c = new Properties();
    c.put("bootstrap.servers", bootstrap);
    c.put("group.id", "ceiling-" + UUID.randomUUID());
    c.put("auto.offset.reset", "earliest");
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("linger.ms", "5");
    int seen = 0;
    long start = System.nanoTime();
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c,
        new ByteArrayDeserializer(), new ByteArrayDeserializer());
        KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p,
            new ByteArraySerializer(), new ByteArraySerializer())) {
      consumer.subscribe(List.of(from));
      while (seen < n) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          producer.send(new ProducerRecord<>(to, r.key(), r.value()));
          seen++;
        }
      }
      producer.flush();
    }
    return n / ((System.nanoTime() - start) / 1e9);
  }

  static double grpcCeiling(VllmSimulator sim, int n, int concurrency) throws Exception {
    WorkerConfig cfg = WorkerConfig.of(Map.of("vllm.target", sim.target()));
    try (InferenceBackend backend = new VllmBackendFactory().connect(cfg,
        Duration.ofSeconds(30))) {
      Semaphore permits = new Semaphore(concurrency);
      CountDownLatch done = new CountDownLatch(n);
      long start = System.nanoTime();
      for (int i = 0; i < n; i++) {
        permits.acquire();
        InferenceRequest r = new InferenceRequest("g-" + i, null, "bench request number " + i
            + " for the worker", null, SamplingParams.builder().maxTokens(1).build(), null, false,
            null);
        backend.generate(new GenerationCall("g-" + i, r, Duration.ofSeconds(30), null))
            .whenComplete((g, e) -> {
              permits.release();
              done.countDown();
            });
      }
      done.await();
      return n / ((System.nanoTime() - start) / 1e9);
    }
  }

  static void ensureDocs(Path root) throws Exception {
    Files.createDirectories(root.resolve("docs"));
  }
}
