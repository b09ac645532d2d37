package io.kvw.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.kvw.bench.HarnessJvm.ThreadCost;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * The open-loop latency benchmark: requests produced at a fixed rate (a share of the
 * simulator's capacity, never a backlog) and, for each, the time the worker adds:
 * the result record's timestamp minus the request record's, minus the simulator's own time on
 * the request (its {@code ServiceTimes}). Per repetition a fresh worker starts cold against the
 * warm simulator and takes 10,000 requests at 50 % ("cold"); then, unmeasured, load at 90 %
 * until its JIT is quiet; then, warm, a phase at each load. Broker and simulator each run in
 * their own JVM ({@link BrokerProcess}, {@link SimulatorProcess}), so that the bench's
 * collections stop neither, and both collect their garbage before each measured stretch.
 */
final class LatencyBench {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final int MAX_NUM_SEQS = 256;
  private static final Duration PER_REQUEST = Duration.ofMillis(200);
  /**
   * The worker's heap is touched at start: on the bench VM a page's first touch costs about
   * 9 µs (2.3 s per GiB), and G1, growing its young generation through a fresh 1 GiB heap for
   * the first minutes, paid it inside its pauses (35-126 ms against 12-34 ms touched, single
   * runs; see the README, *The JVM*).
   */
  static final List<String> WORKER_JVM = List.of("-XX:+AlwaysPreTouch");

  /** A stretch of load at {@code fraction} of capacity. */
  record Phase(String name, double fraction, int requests) {}

  /** What one phase of one repetition measured, in microseconds unless named otherwise. */
  record Measured(Histogram added, Histogram intake, Histogram queue, Histogram transport,
      Histogram after, List<Histogram> perSecond, int gcPauses, double gcPauseMs, int maxWaiting,
      int missing, double jitCpuSeconds, List<Double> brokerPauses,
      List<Double> simulatorPauses, HarnessJit harnessJit, HarnessJvm.Sched workerSched,
      MachineCpu machine) {
    /** The worker's CPU-seconds in the phase, user and kernel mode. */
    double workerCpuSeconds() {
      return workerSched.userSeconds() + workerSched.systemSeconds();
    }
  }

  /** Where a result's time went, from its timing fields and the two record timestamps. */
  private record Seen(long resultMillis, long totalMs, long queueMs, long backendMs) {}

  private final Path root;
  private final Path workerJar;
  private final Path work;
  private int maxWarmUpSeconds;
  private List<Double> floorBrokerPauses = List.of();
  private List<Double> floorSimulatorPauses = List.of();
  /** What warming the simulator, the broker and the bench took, for the report. */
  private String harnessWarmUp = "";
  /** Per repetition: seconds of warm-up the worker needed before its JIT was quiet. */
  private final List<String> warmUps = new ArrayList<>();

  /**
   * Whether the measured workers start with an ahead-of-time cache (JDK 25 and later, JEPs 483,
   * 514 and 515: classes loaded and linked, and method profiles, from a training run). The
   * throw-away worker that warms the harness is the training run; its cache is written when
   * it stops.
   */
  private final boolean aotCache;
  private final Path aotCacheFile;

  LatencyBench(Path root, Path workerJar, Path work, boolean aotCache) {
    this.root = root;
    this.workerJar = workerJar;
    this.work = work;
    this.aotCache = aotCache;
    this.aotCacheFile = work.resolve("worker.aot");
  }

  /** The measured workers' JVM, for the report. */
  private String jvmDescription() {
    return "`" + WorkerProcess.otherWorkerJava().map(java -> java + " ").orElse("")
        + "-Xmx1g -Xms1g "
        + String.join(" ", WORKER_JVM) + (aotCache ? " -XX:AOTCache=worker.aot`, the cache "
            + "written by the throw-away worker that warmed the harness (its training run, "
            + "`-XX:AOTCacheOutput=worker.aot`)" : "`");
  }

  /**
   * A worker's JVM options; with the AOT cache, {@code aotOption} names the file:
   * {@code -XX:AOTCacheOutput=} for the training run, {@code -XX:AOTCache=} for the measured.
   */
  private List<String> workerJvm(String aotOption) {
    List<String> jvm = new ArrayList<>(WORKER_JVM);
    if (aotCache) {
      jvm.add(aotOption + aotCacheFile);
    }
    return jvm;
  }

  int run(int reps, int phaseSeconds, int coldRequests, int warmUpSeconds) throws Exception {
    double capacity = MAX_NUM_SEQS / (PER_REQUEST.toMillis() / 1000.0);
    this.maxWarmUpSeconds = warmUpSeconds;
    List<Phase> phases = List.of(new Phase("cold", 0.5, coldRequests),
        new Phase("25%", 0.25, (int) (0.25 * capacity * phaseSeconds)),
        new Phase("50%", 0.5, (int) (0.5 * capacity * phaseSeconds)),
        new Phase("90%", 0.9, (int) (0.9 * capacity * phaseSeconds)));
    Map<String, List<Measured>> byPhase = new LinkedHashMap<>();
    RelayFloor.Floor floor;
    String brokerGc;
    String simGc;
    try (BrokerProcess kafka = new BrokerProcess(work);
        SimulatorProcess sim = new SimulatorProcess(work, PER_REQUEST, MAX_NUM_SEQS)) {
      warmHarness(kafka, sim, capacity);
      HarnessMark[] before = new HarnessMark[1];
      floor = RelayFloor.measure(kafka, sim.pid(), work, 0.5 * capacity, phaseSeconds,
          maxWarmUpSeconds, () -> before[0] = collectHarness(kafka, sim));
      floorBrokerPauses = since(kafka.gcPauses(), before[0].brokerPauses());
      floorSimulatorPauses = since(sim.gcPauses(), before[0].simulatorPauses());
      System.out.printf(Locale.ROOT, "bare relay at 50 %%: p50 %s p99 %s p99.9 %s ms; "
          + "sent → appended %s / %s, appended → polled %s / %s, polled → sent %s / %s%n",
          ms(floor.total(), 50), ms(floor.total(), 99), ms(floor.total(), 99.9),
          ms(floor.toAppend(), 50), ms(floor.toAppend(), 99), ms(floor.toPoll(), 50),
          ms(floor.toPoll(), 99), ms(floor.toSend(), 50), ms(floor.toSend(), 99));
      System.out.println("broker GC while the floor was measured: "
          + HarnessJvm.describe(floorBrokerPauses) + "; simulator: "
          + HarnessJvm.describe(floorSimulatorPauses));
      if (reps == 0) {
        return 0; // --reps 0: the floor alone, while exploring the harness
      }
      sim.enableServiceTimes();
      for (int rep = 1; rep <= reps; rep++) {
        Map<String, Measured> r = repetition(kafka, sim, "lat" + rep, phases, capacity);
        r.forEach((k, v) -> byPhase.computeIfAbsent(k, x -> new ArrayList<>()).add(v));
      }
      brokerGc = HarnessJvm.describe(kafka.gcPauses());
      simGc = HarnessJvm.describe(sim.gcPauses());
      System.out.println("broker GC over the run: " + brokerGc);
      System.out.println("simulator GC over the run: " + simGc);
    }
    String body = report(byPhase, reps, phaseSeconds, coldRequests, capacity)
        + floorNote(floor, phaseSeconds, byPhase.get("50%")) + String.format(Locale.ROOT, """

        The broker runs in its own JVM with harness settings (`%s`); its GC pauses over the \
        whole run, with the full collections the bench asks of it before each measured \
        stretch: %s. So does the simulator (`%s`): %s. Their pauses inside each measured \
        phase are in the table above.
        """, String.join(" ", BrokerProcess.JVM_ARGS), brokerGc,
        String.join(" ", SimulatorProcess.JVM_ARGS), simGc);
    Report.write(root.resolve("BENCHMARKS.md"), aotCache ? "latency-aot" : "latency",
        "Latency at partial load: what the worker adds, open loop"
            + (aotCache ? ", the worker started with an AOT cache" : ""),
        "java " + WorkerProcess.otherWorkerJava().map(java -> "-Dkvw.bench.workerJava=" + java
            + " ").orElse("") + "-jar bench/target/bench.jar latency --reps " + reps + " --seconds "
            + phaseSeconds + (aotCache ? " --aot on" : ""),
        body);
    Measured warm50 = median(byPhase.get("50%"));
    return warm50.missing() == 0 && warm50.added().getValueAtPercentile(99) <= 5_000 ? 0 : 1;
  }

  /**
   * The simulator's and the broker's first calls are slow too (JIT), and so is the bench's
   * result reader: a throw-away worker puts load at 90 % through them, in steps, its results
   * read by that reader, until the compilers of all three are quiet over a step (at most
   * {@code maxWarmUpSeconds}). Warmed less (the simulator 8 s at 50 %, the broker and the
   * reader not at all), simulator and broker still compiled for 3-4 CPU-seconds each inside
   * the first repetition's cold phase, a core's worth taken from the cold worker on two
   * cores, and that repetition was the worst of three in five runs of five: the cold worker
   * is to be measured against a warm harness. With the AOT cache this worker is its training
   * run.
   */
  private void warmHarness(BrokerProcess kafka, SimulatorProcess sim, double capacity)
      throws Exception {
    String name = "latwarm";
    Topics.create(kafka::createTopic, name, 6);
    // the bench's own result reader is harness too: it reads these results as it will the
    // measured ones, so its JSON path is compiled before the first repetition
    AtomicBoolean reading = new AtomicBoolean(true);
    Thread reader = new Thread(() -> readResults(kafka.bootstrapServers(), name + ".results",
        new ConcurrentHashMap<>(), reading), "latency-results-warm-up");
    reader.start();
    try (WorkerProcess worker = new WorkerProcess(workerJar, "1g",
        workerJvm("-XX:AOTCacheOutput="),
        Topics.workerConfig(kafka.bootstrapServers(), sim.target(), name), work);
        PacedLoad load = new PacedLoad(kafka.bootstrapServers())) {
      worker.awaitReady(Duration.ofSeconds(120));
      Map<String, Long> sentAt = new ConcurrentHashMap<>();
      harnessWarmUp = HarnessJvm.warmUntilCompiled(
          List.of(sim.pid(), kafka.pid(), ProcessHandle.current().pid()), maxWarmUpSeconds,
          step -> load.run(name + ".requests", "w" + step,
              (int) (0.9 * capacity * HarnessJvm.WARM_UP_STEP_SECONDS), 0.9 * capacity, sentAt));
      worker.stop(Duration.ofSeconds(60));
    } finally {
      reading.set(false);
      reader.join();
    }
    if (aotCache && !Files.isRegularFile(aotCacheFile)) {
      throw new IllegalStateException("the training worker wrote no " + aotCacheFile
          + ": an AOT cache needs JDK 25 or later for the worker (-Dkvw.bench.workerJava=…)");
    }
    System.out.println("harness warmed (simulator / broker / bench): " + harnessWarmUp + "; "
        + sim.stats());
  }

  private Map<String, Measured> repetition(BrokerProcess kafka, SimulatorProcess sim, String name,
      List<Phase> phases, double capacity) throws Exception {
    Topics.create(kafka::createTopic, name, 6);
    Map<String, Long> sentAt = new ConcurrentHashMap<>();
    Map<String, Seen> seen = new ConcurrentHashMap<>();
    Map<String, Measured> out = new LinkedHashMap<>();
    AtomicBoolean reading = new AtomicBoolean(true);
    Thread reader = new Thread(() -> readResults(kafka.bootstrapServers(), name + ".results",
        seen, reading), "latency-results");
    reader.start();
    try (WorkerProcess worker = new WorkerProcess(workerJar, "1g", workerJvm("-XX:AOTCache="),
        Topics.workerConfig(kafka.bootstrapServers(), sim.target(), name), work);
        PacedLoad load = new PacedLoad(kafka.bootstrapServers())) {
      worker.awaitReady(Duration.ofSeconds(120));
      for (Phase phase : phases) {
        String prefix = name + phase.name().replace("%", "");
        int[] maxWaiting = {0};
        // the pauses within the phase, from the counters: the gauge jvm_gc_pause_seconds_max
        // is a max over the last minutes, so it showed start-up pauses in every warm phase
        double gcCountBefore = gcSoFar(worker, "jvm_gc_pause_seconds_count");
        double gcSecondsBefore = gcSoFar(worker, "jvm_gc_pause_seconds_sum");
        Thread gcWatch = new Thread(() -> {
          while (!Thread.currentThread().isInterrupted()) {
            double w = worker.scraped("kvw_dispatch_waiting");
            if (!Double.isNaN(w)) {
              maxWaiting[0] = Math.max(maxWaiting[0], (int) w);
            }
            try {
              Thread.sleep(1000);
            } catch (InterruptedException e) {
              return;
            }
          }
        });
        gcWatch.setDaemon(true);
        gcWatch.start();
        HarnessMark harnessBefore = collectHarness(kafka, sim);
        HarnessJvm.Sched schedBefore = HarnessJvm.sched(worker.pid());
        double jitBefore = worker.compilerCpuSeconds();
        long phaseStartMillis = System.currentTimeMillis();
        MachineCpu.Mark machineBefore = MachineCpu.Mark.now(worker.pid(), kafka.pid(),
            sim.pid());
        load.run(name + ".requests", prefix, phase.requests(), phase.fraction() * capacity,
            sentAt);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline && !allSeen(seen, prefix, phase.requests())) {
          Thread.sleep(100);
        }
        MachineCpu machine = MachineCpu.between(machineBefore,
            MachineCpu.Mark.now(worker.pid(), kafka.pid(), sim.pid()));
        Thread.sleep(1500); // the simulator's last gauges
        gcWatch.interrupt();
        gcWatch.join();
        int gcPauses = (int) (gcSoFar(worker, "jvm_gc_pause_seconds_count") - gcCountBefore);
        double gcPauseMs = (gcSoFar(worker, "jvm_gc_pause_seconds_sum") - gcSecondsBefore)
            * 1000;
        Measured m = measure(sim.serviceTimes(), prefix, phase.requests(), sentAt, seen,
            phaseStartMillis, gcPauses, gcPauseMs, maxWaiting[0],
            worker.compilerCpuSeconds() - jitBefore,
            since(kafka.gcPauses(), harnessBefore.brokerPauses()),
            since(sim.gcPauses(), harnessBefore.simulatorPauses()),
            HarnessJit.now(kafka, sim).minus(harnessBefore.jit()),
            HarnessJvm.sched(worker.pid()).minus(schedBefore), machine);
        System.out.printf(Locale.ROOT, "%s %s: added p50 %.1f p99 %.1f p99.9 %.1f ms, "
            + "missing %d, worker GC pauses %d (%.0f ms), worker CPU %.1f s (JIT %.1f s), "
            + "worker user %.1f s, kernel %.1f s, voluntary switches %d, involuntary %d, "
            + "broker GC %s, simulator GC %s, broker JIT %.2f s, simulator JIT %.2f s, "
            + "bench JIT %.2f s%n",
            name, phase.name(),
            m.added().getValueAtPercentile(50) / 1000.0,
            m.added().getValueAtPercentile(99) / 1000.0,
            m.added().getValueAtPercentile(99.9) / 1000.0, m.missing(), m.gcPauses(),
            m.gcPauseMs(), m.workerCpuSeconds(), m.jitCpuSeconds(),
            m.workerSched().userSeconds(), m.workerSched().systemSeconds(),
            m.workerSched().voluntarySwitches(), m.workerSched().involuntarySwitches(),
            HarnessJvm.describe(m.brokerPauses()), HarnessJvm.describe(m.simulatorPauses()),
            m.harnessJit().broker(), m.harnessJit().simulator(), m.harnessJit().bench());
        out.put(phase.name(), m);
        if (phase.name().equals("cold")) {
          warmUps.add(warmUp(worker, load, name, capacity, sentAt));
        }
      }
      worker.stop(Duration.ofSeconds(60));
    } finally {
      reading.set(false);
      reader.join();
    }
    return out;
  }

  /**
   * Load at 90 % until the worker's JIT compiler threads are quiet over a step, or for at most
   * {@code maxWarmUpSeconds}: the 10,000 cold requests leave its compiler busy for a minute
   * more at these rates (a third of a core, competing with the records for two cores), so the
   * warm phases would measure compilation, not the compiled worker. Unmeasured; returns what
   * it took, for the report.
   */
  private String warmUp(WorkerProcess worker, PacedLoad load, String name, double capacity,
      Map<String, Long> sentAt) throws Exception {
    String took = HarnessJvm.warmUntilCompiled(worker.pid(), maxWarmUpSeconds,
        step -> load.run(name + ".requests", name + "warm" + step,
            (int) (0.9 * capacity * HarnessJvm.WARM_UP_STEP_SECONDS), 0.9 * capacity, sentAt));
    System.out.println(name + " warm-up at 90 %: " + took);
    return took;
  }

  /**
   * A full collection in the broker and the simulator, before a measured stretch: they are the
   * harness, their young generations hold more than a stretch allocates, so emptied first they
   * do not collect inside it (the report counts what they did anyway). Returns their pause
   * counts after it, to tell the pauses inside the stretch.
   */
  private static HarnessMark collectHarness(BrokerProcess kafka, SimulatorProcess sim) {
    kafka.collectGarbage();
    sim.collectGarbage();
    return new HarnessMark(kafka.gcPauses().size(), sim.gcPauses().size(),
        HarnessJit.now(kafka, sim));
  }

  /**
   * How many GC pauses broker and simulator had logged at a moment (the later ones follow),
   * and the harness's compiler CPU so far.
   */
  private record HarnessMark(int brokerPauses, int simulatorPauses, HarnessJit jit) {}

  /** CPU-seconds of the compiler threads of the harness's JVMs: broker, simulator, bench. */
  record HarnessJit(double broker, double simulator, double bench) {
    static HarnessJit now(BrokerProcess kafka, SimulatorProcess sim) {
      return new HarnessJit(HarnessJvm.compilerCpuSeconds(kafka.pid()),
          HarnessJvm.compilerCpuSeconds(sim.pid()),
          HarnessJvm.compilerCpuSeconds(ProcessHandle.current().pid()));
    }

    HarnessJit minus(HarnessJit before) {
      return new HarnessJit(broker - before.broker, simulator - before.simulator,
          bench - before.bench);
    }
  }

  private static List<Double> since(List<Double> pauses, int from) {
    return List.copyOf(pauses.subList(Math.min(from, pauses.size()), pauses.size()));
  }

  /** A GC pause counter of the worker; absent until its first pause, so 0 then. */
  private static double gcSoFar(WorkerProcess worker, String name) {
    double v = worker.metric(name);
    return Double.isNaN(v) ? 0 : v;
  }

  private static boolean allSeen(Map<String, Seen> seen, String prefix, int n) {
    for (int i = n - 1; i >= 0; i--) { // the last ones are the likeliest still missing
      if (!seen.containsKey(prefix + "-" + i)) {
        return false;
      }
    }
    return true;
  }

  private static Measured measure(Map<String, Long> serviceTimes, String prefix, int n,
      Map<String, Long> sentAt, Map<String, Seen> seen, long phaseStartMillis,
      int gcPauses, double gcPauseMs, int maxWaiting, double jitCpuSeconds,
      List<Double> brokerPauses, List<Double> simulatorPauses, HarnessJit harnessJit,
      HarnessJvm.Sched workerSched, MachineCpu machine) {
    Map<String, Long> simNanos = new ConcurrentHashMap<>();
    serviceTimes.forEach((backendId, nanos) -> {
      int hash = backendId.indexOf('#');
      String id = hash < 0 ? backendId : backendId.substring(0, hash);
      if (id.startsWith(prefix + "-")) {
        simNanos.merge(id, nanos, Math::max);
      }
    });
    Histogram added = histogram();
    Histogram intake = histogram();
    Histogram queue = histogram();
    Histogram transport = histogram();
    Histogram after = histogram();
    List<Histogram> perSecond = new ArrayList<>();
    int missing = 0;
    for (int i = 0; i < n; i++) {
      String id = prefix + "-" + i;
      Seen s = seen.get(id);
      Long simTime = simNanos.get(id);
      if (s == null || simTime == null) {
        missing++;
        continue;
      }
      long sentMillis = sentAt.get(id);
      long addedMicros = (s.resultMillis() - sentMillis) * 1000 - simTime / 1000;
      added.recordValue(Math.max(0, addedMicros));
      intake.recordValue(Math.max(0, (s.resultMillis() - sentMillis - s.totalMs()) * 1000));
      queue.recordValue(Math.max(0, s.queueMs() * 1000));
      transport.recordValue(Math.max(0, s.backendMs() * 1000 - simTime / 1000));
      after.recordValue(Math.max(0, (s.totalMs() - s.queueMs() - s.backendMs()) * 1000));
      int second = (int) ((sentMillis - phaseStartMillis) / 1000);
      while (perSecond.size() <= second) {
        perSecond.add(histogram());
      }
      perSecond.get(second).recordValue(Math.max(0, addedMicros));
    }
    return new Measured(added, intake, queue, transport, after, perSecond, gcPauses, gcPauseMs,
        maxWaiting, missing, jitCpuSeconds, brokerPauses, simulatorPauses, harnessJit,
        workerSched, machine);
  }

  private static double sum(List<Double> pauses) {
    return pauses.stream().mapToDouble(Double::doubleValue).sum();
  }

  private static Histogram histogram() {
    return new Histogram(3_600_000_000L, 3);
  }

  private static void readResults(String bootstrap, String topic, Map<String, Seen> seen,
      AtomicBoolean reading) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("group.id", "latency-" + UUID.randomUUID());
    p.put("auto.offset.reset", "earliest");
    p.put("enable.auto.commit", "false");
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p,
        new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      consumer.subscribe(List.of(topic));
      while (reading.get()) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
          try {
            JsonNode result = JSON.readTree(r.value());
            JsonNode t = result.path("timing");
            seen.putIfAbsent(result.path("id").asText(), new Seen(r.timestamp(),
                t.path("total_ms").asLong(), t.path("queue_ms").asLong(),
                t.path("backend_ms").asLong()));
          } catch (IOException e) {
            throw new IllegalStateException("unreadable result " + r, e);
          }
        }
      }
    }
  }

  /** The harness's own Kafka round trip, measured in the same run ({@link RelayFloor}). */
  private String floorNote(RelayFloor.Floor f, int phaseSeconds, List<Measured> warm50) {
    Histogram floor = f.total();
    if (floor.getTotalCount() == 0) {
      return "\nThe harness's floor (a bare relay) was not measured: it relayed nothing "
          + "(its log is relay-floor.log in the bench's work directory).\n";
    }
    return String.format(Locale.ROOT, """

        The harness's floor, in the same run: a bare relay in its own JVM (consume, produce \
        at once with the worker's producer settings; no backend) at 50 %% load for %d s, \
        warmed like the worker (until its JIT was quiet over %d s) and after the same full \
        collection of broker and simulator, measured the same way (result record timestamp \
        minus request record timestamp) on the %d requests it relayed: p50 %s, p99 %s, \
        p99.9 %s ms. It is the Kafka round trip \
        through this broker and producer on this machine; no worker adds less. Per hop \
        (p50 / p99 ms; its requests topic takes the broker's append time as record \
        timestamp): sent → appended by the broker %s / %s, appended → polled by the relay \
        %s / %s, polled → sent again %s / %s. Broker GC while it was measured: %s. \
        The cores were %.0f %% busy while it was measured (cores' worth used by the relay, \
        broker, simulator and bench: %.2f, %.2f, %.2f, %.2f), against %s %% in the worker's \
        50 %% phases, where the simulator also answers every request.
        """, phaseSeconds, HarnessJvm.WARM_UP_STEP_SECONDS, floor.getTotalCount(), ms(floor, 50),
        ms(floor, 99),
        ms(floor, 99.9), ms(f.toAppend(), 50), ms(f.toAppend(), 99), ms(f.toPoll(), 50),
        ms(f.toPoll(), 99), ms(f.toSend(), 50), ms(f.toSend(), 99),
        HarnessJvm.describe(floorBrokerPauses), 100 * f.machine().busyShare(),
        f.machine().measured(), f.machine().broker(), f.machine().simulator(),
        f.machine().bench(), warm50.stream().map(m -> String.format(Locale.ROOT, "%.0f",
            100 * m.machine().busyShare())).collect(java.util.stream.Collectors.joining(" / ")));
  }

  /** The repetition with the median p99 added latency. */
  private static Measured median(List<Measured> runs) {
    List<Measured> sorted = new ArrayList<>(runs);
    sorted.sort((a, b) -> Long.compare(a.added().getValueAtPercentile(99),
        b.added().getValueAtPercentile(99)));
    return sorted.get(sorted.size() / 2);
  }

  private static String ms(Histogram h, double percentile) {
    return String.format(Locale.ROOT, "%.1f", h.getValueAtPercentile(percentile) / 1000.0);
  }

  /** {@code a / b / c} over the repetitions, in milliseconds. */
  private static String spread(List<Measured> runs, java.util.function.Function<Measured,
      Histogram> which, double percentile) {
    List<String> parts = new ArrayList<>();
    for (Measured m : runs) {
      parts.add(ms(which.apply(m), percentile));
    }
    return String.join(" / ", parts);
  }

  private String report(Map<String, List<Measured>> byPhase, int reps, int phaseSeconds,
      int coldRequests, double capacity) {
    StringBuilder t = new StringBuilder();
    t.append("| load | requests/s | added p50 (ms) | added p99 (ms) | added p99.9 (ms) | "
        + "worker GC pauses in the phase (count, ms in all) | worker CPU-s in the phase (of "
        + "it JIT) | worker's kernel-mode share of its CPU; its threads' sleeps (voluntary "
        + "switches) per record | broker, simulator GC pauses in the phase (count, ms in all); "
        + "JIT CPU-s in it of broker, simulator, bench "
        + "| most records waiting for a permit | unanswered |\n"
        + "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n");
    byPhase.forEach((phase, runs) -> {
      double fraction = phase.equals("cold") ? 0.5
          : Integer.parseInt(phase.replace("%", "")) / 100.0;
      List<String> gc = new ArrayList<>();
      List<String> waiting = new ArrayList<>();
      List<String> cpu = new ArrayList<>();
      List<String> harness = new ArrayList<>();
      List<String> switches = new ArrayList<>();
      runs.forEach(m -> {
        HarnessJvm.Sched w = m.workerSched();
        int answered = m.added().getTotalCount() == 0 ? 1 : (int) m.added().getTotalCount();
        switches.add(String.format(Locale.ROOT, "%.0f %%; %.1f", 100 * w.systemSeconds()
            / Math.max(0.01, w.userSeconds() + w.systemSeconds()),
            (double) w.voluntarySwitches() / answered));
        harness.add(String.format(Locale.ROOT, "%d, %.0f; %d, %.0f; JIT %.1f, %.1f, %.1f",
            m.brokerPauses().size(), sum(m.brokerPauses()), m.simulatorPauses().size(),
            sum(m.simulatorPauses()), m.harnessJit().broker(), m.harnessJit().simulator(),
            m.harnessJit().bench()));
        gc.add(String.format(Locale.ROOT, "%d, %.0f", m.gcPauses(), m.gcPauseMs()));
        cpu.add(String.format(Locale.ROOT, "%.1f (%.1f)", m.workerCpuSeconds(),
            m.jitCpuSeconds()));
        waiting.add(Integer.toString(m.maxWaiting()));
      });
      t.append(String.format(Locale.ROOT,
          "| %s | %.0f | %s | **%s** | %s | %s | %s | %s | %s | %s | %d |\n",
          phaseLabel(phase, coldRequests), fraction * capacity, spread(runs, Measured::added, 50),
          spread(runs, Measured::added, 99), spread(runs, Measured::added, 99.9),
          String.join(" / ", gc), String.join(" / ", cpu), String.join(" / ", switches),
          String.join(" / ", harness),
          String.join(" / ", waiting),
          runs.stream().mapToInt(Measured::missing).sum()));
    });
    StringBuilder cold = new StringBuilder("| second after the worker is ready |");
    int seconds = 5;
    for (int s = 1; s <= seconds; s++) {
      cold.append(" ").append(s).append(" |");
    }
    cold.append("\n|").append(" --- |".repeat(seconds + 1)).append("\n");
    List<Measured> coldRuns = byPhase.get("cold");
    for (int r = 0; r < coldRuns.size(); r++) {
      cold.append("| run ").append(r + 1).append(", added p50 / p99 (ms) |");
      List<Histogram> ps = coldRuns.get(r).perSecond();
      for (int s = 0; s < seconds; s++) {
        cold.append(s < ps.size() ? " " + ms(ps.get(s), 50) + " / " + ms(ps.get(s), 99) : " –")
            .append(" |");
      }
      cold.append("\n");
    }
    String parts = parts(byPhase.get("50%"));
    String coldParts = parts(byPhase.get("cold"));
    return String.format(Locale.ROOT, """
        Simulator: 200 ms per request, max_num_seqs 256 (capacity %.0f requests/s), in its \
        own JVM (not the bench's, where the load generator and the result reader run); it and \
        the broker are warmed first by a throw-away worker at 90 %% load in steps of %d s, its \
        results read by the bench's result reader, until the compiler threads of the \
        simulator, the broker and the bench each used under %.0f %% of a core over a step (it \
        took %s, simulator / broker / bench). Requests are produced open loop (a timer sends \
        the records due every millisecond; no backlog, the producer does not linger) on 6 \
        partitions. \
        *Added* is, per request, the result record's timestamp minus the request record's, \
        minus the simulator's own time on the request (from the call reaching it to its last \
        message). Each of %d repetitions starts a new worker process with default settings \
        (JVM: %s) \
        and waits for it to be ready (its partitions assigned); then %d requests at 50 %% \
        (cold); then, unmeasured, load at 90 %% in steps of %d s until the worker's JIT compiler \
        threads used under %.0f %% of a core over a step, at most %d s (it took %s); then %d s \
        at each load (warm). Figures per repetition: run 1 / run 2 / run 3. \
        The worker's GC pauses are those within the phase (`jvm_gc_pause_seconds` count and \
        sum before and after it); the records waiting for a permit are read from its \
        `/metrics` once a second (`kvw_dispatch_waiting`).

        %s
        A cold worker, per second from the first record produced:

        %s
        Where the added time goes at 50 %% load, warm (from each result's `timing`, \
        millisecond fields):

        %s
        The worker's threads at 50 %% load, warm: per record, how often each kind of thread \
        went to sleep (to be woken by another thread or the network) and its CPU time, from \
        `/proc` (thread names as Linux keeps them, 15 characters, with digits as `#`; the \
        threads of a pool together):

        %s
        The same for the cold worker's first %d requests:

        %s
        The machine in each phase: how busy its %d cores were (the share of their time not \
        idle), and the cores' worth (CPU-seconds per second) the worker, the broker, the \
        simulator and the bench (load generator and result reader) used, from `/proc`. In \
        production the broker and vLLM run on other machines; here they take the same cores as \
        the worker, and at every hand-off a woken thread of any of them may wait for one:

        %s""", capacity, HarnessJvm.WARM_UP_STEP_SECONDS, 100 * HarnessJvm.QUIET_JIT_SHARE,
        harnessWarmUp, reps, jvmDescription(), coldRequests,
        HarnessJvm.WARM_UP_STEP_SECONDS, 100 * HarnessJvm.QUIET_JIT_SHARE, maxWarmUpSeconds,
        String.join(" / ", warmUps), phaseSeconds, t, cold, parts, threads(byPhase.get("50%")),
        coldRequests, coldParts, Runtime.getRuntime().availableProcessors(), machine(byPhase,
            coldRequests));
  }

  /** Thread kinds that get their own row; the rest are summed in one. */
  private static final int THREAD_ROWS = 6;

  /**
   * Sleeps and CPU-ms per record of the kinds of thread that slept most, one column per
   * repetition: which hand-offs a record costs, thread by thread.
   */
  private static String threads(List<Measured> runs) {
    Map<String, Long> total = new HashMap<>();
    runs.forEach(m -> m.workerSched().threads().forEach((name, c) ->
        total.merge(name, c.sleeps(), Long::sum)));
    List<String> named = total.entrySet().stream()
        .sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(THREAD_ROWS)
        .map(Map.Entry::getKey).toList();
    // each row's label and what it sums of a repetition's thread kinds
    Map<String, Function<Map<String, ThreadCost>, ThreadCost>> rows = new LinkedHashMap<>();
    named.forEach(kind -> rows.put("`" + kind + "`", t -> t.getOrDefault(kind, ThreadCost.NONE)));
    rows.put("all others", t -> t.entrySet().stream().filter(e -> !named.contains(e.getKey()))
        .map(Map.Entry::getValue).reduce(ThreadCost.NONE, ThreadCost::plus));
    rows.put("all", t -> t.values().stream().reduce(ThreadCost.NONE, ThreadCost::plus));
    StringBuilder b = new StringBuilder("| thread |");
    for (int r = 0; r < runs.size(); r++) {
      b.append(" run ").append(r + 1).append(": sleeps, CPU-ms per record |");
    }
    b.append("\n|").append(" --- |".repeat(runs.size() + 1)).append("\n");
    rows.forEach((label, sum) -> {
      b.append("| ").append(label).append(" |");
      for (Measured m : runs) {
        ThreadCost c = sum.apply(m.workerSched().threads());
        double answered = Math.max(1, m.added().getTotalCount());
        b.append(String.format(Locale.ROOT, " %.2f, %.3f |", c.sleeps() / answered,
            1000 * c.cpuSeconds() / answered));
      }
      b.append("\n");
    });
    return b.toString();
  }

  /** The machine's cores in each phase ({@link MachineCpu}), one column per repetition. */
  private static String machine(Map<String, List<Measured>> byPhase, int coldRequests) {
    int reps = byPhase.values().iterator().next().size();
    StringBuilder b = new StringBuilder("| load |");
    for (int r = 0; r < reps; r++) {
      b.append(" run ").append(r + 1).append(": cores busy; worker, broker, simulator, bench |");
    }
    b.append("\n|").append(" --- |".repeat(reps + 1)).append("\n");
    byPhase.forEach((phase, runs) -> {
      b.append("| ").append(phaseLabel(phase, coldRequests)).append(" |");
      runs.forEach(m -> b.append(" ").append(m.machine().describe()).append(" |"));
      b.append("\n");
    });
    return b.toString();
  }

  private static String phaseLabel(String phase, int coldRequests) {
    return phase.equals("cold") ? "50 %, cold (first " + coldRequests + ")"
        : phase.replace("%", " %") + ", warm";
  }

  /** Where the added time went, p50 / p99 of each part, one column per repetition. */
  private static String parts(List<Measured> runs) {
    StringBuilder parts = new StringBuilder("| part of the added time, p50 / p99 (ms) |");
    for (int r = 0; r < runs.size(); r++) {
      parts.append(" run ").append(r + 1).append(" |");
    }
    parts.append("\n|").append(" --- |".repeat(runs.size() + 1)).append("\n");
    Map<String, java.util.function.Function<Measured, Histogram>> named = new LinkedHashMap<>();
    named.put("request sent → polled by the worker, and result built → sent", Measured::intake);
    named.put("polled → first backend call (`queue_ms`: admission, tokens, permit)",
        Measured::queue);
    named.put("gRPC both ways (`backend_ms` − the simulator's own time)", Measured::transport);
    named.put("end of the call → result built", Measured::after);
    named.forEach((label, which) -> {
      parts.append("| ").append(label).append(" |");
      for (Measured m : runs) {
        parts.append(" ").append(ms(which.apply(m), 50)).append(" / ")
            .append(ms(which.apply(m), 99)).append(" |");
      }
      parts.append("\n");
    });
    return parts.toString();
  }
}
