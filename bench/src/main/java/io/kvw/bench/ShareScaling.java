package io.kvw.bench;

import io.kvw.testkit.kafka.EmbeddedKafka;
import io.kvw.testkit.sim.VllmSimulator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListShareGroupOffsetsSpec;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.admin.SharePartitionOffsetInfo;
import org.apache.kafka.common.TopicPartition;

/**
 * Replicas beyond the partition count: the same 2-partition requests topic drained first by 2
 * workers in a consumer group (one per partition, the most a consumer group can keep busy),
 * then by 6 workers in a share group, against one simulator with room for all of them. Each
 * worker runs a fixed 16 calls at once, so a worker, not the simulator, is the limit, and the
 * ratio shows what the extra replicas add.
 */
final class ShareScaling {
  private static final int PER_WORKER = 16;
  /**
   * The README's JVM options for replicas with little CPU each, in both phases: with the
   * JVM's defaults on 2 cores (G1, C1 and C2 compilers) six worker JVMs spent most of the
   * machine compiling and collecting, and the simulator's calls waited for a core.
   */
  static final List<String> WORKER_JVM = List.of("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");

  private ShareScaling() {}

  /** One phase's figures. */
  private record Phase(String intake, int workers, double rate, int distinct, int duplicates,
      int errors, List<Long> polledPerWorker, boolean complete, double busy, double fetchWaitMs,
      double roundMs, long backendP50, double backendMean) {

    /** The share consumers' mean wait to fetch and mean round, or a dash for consumer mode. */
    String lanes() {
      return Double.isNaN(roundMs) ? "–" : String.format(Locale.ROOT, "%.0f ms / %.0f ms",
          fetchWaitMs, roundMs);
    }
  }

  static int run(Path root, Path workerJar, Path work, int requests, int reps)
      throws Exception {
    return run(root, workerJar, work, requests, reps, Map.of(), DEFAULT_REQUEST_MS);
  }

  /** The simulator's time per request unless {@code --request-ms} says otherwise. */
  static final int DEFAULT_REQUEST_MS = 200;

  /**
   * @param shareConfig worker settings given to the share workers only (to compare share-intake
   *     tunings, e.g. {@code worker.share.consumers}); empty for the defaults
   * @param requestMs the simulator's time per request: at 200 ms the six workers' own CPU per
   *     record decides on a 2-core machine; at 1,000 ms (nearer an LLM's) it does not
   */
  static int run(Path root, Path workerJar, Path work, int requests, int reps,
      Map<String, String> shareConfig, int requestMs) throws Exception {
    Duration perRequest = Duration.ofMillis(requestMs);
    int maxNumSeqs = 256;
    try (EmbeddedKafka kafka = EmbeddedKafka.builder().build();
        VllmSimulator sim = VllmSimulator.builder().modelName("sim-model")
            .timeToFirstToken(perRequest).timePerOutputToken(Duration.ZERO).outputTokens(1)
            .maxNumSeqs(maxNumSeqs).build()) {
      kafka.start();
      sim.start();
      StringBuilder rows = new StringBuilder();
      List<Double> ratios = new ArrayList<>();
      boolean passed = true;
      for (int rep = 1; rep <= reps; rep++) {
        // each repetition has its own topic and groups: nothing carries over between them
        String name = "scale" + rep;
        Topics.create(kafka, name, 2);
        kafka.createTopic(name + ".share.results", 2);
        Phase consumer = phase(kafka, sim, workerJar, work, name, "consumer", 2,
            name + ".results", requests, Map.of());
        Phase share = phase(kafka, sim, workerJar, work, name, "share", 6,
            name + ".share.results", requests, shareConfig);
        double ratio = share.rate / consumer.rate;
        ratios.add(ratio);
        System.out.printf(Locale.ROOT, "run %d: 6 share / 2 consumer workers = %.2fx%n", rep,
            ratio);
        for (Phase p : List.of(consumer, share)) {
          rows.append(String.format(Locale.ROOT, "| %d | `worker.intake=%s` | %d | %.0f | %.0f %% "
              + "| %d ms / %.0f ms | %s | %d of %d (%d duplicates, %d errors) | %s |%n", rep,
              p.intake, p.workers, p.rate, 100 * p.busy, p.backendP50, p.backendMean,
              p.lanes(), p.distinct, requests, p.duplicates, p.errors, p.polledPerWorker));
        }
        boolean allTook = share.polledPerWorker.stream().allMatch(n -> n > 0);
        passed &= consumer.complete && share.complete && allTook && ratio >= 2.5;
      }
      double capacity = maxNumSeqs / (perRequest.toMillis() / 1000.0);
      List<Double> sorted = ratios.stream().sorted().toList();
      String each = String.join(", ", ratios.stream().map(r -> String.format(Locale.ROOT,
          "%.2fx", r)).toList());
      String body = String.format(Locale.ROOT, """
          One 2-partition requests topic per run, drained twice in the same run: %d requests \
          for 2 workers in a consumer group, then as many more for 6 workers in a share group \
          (which starts at the end of the topic); each phase's requests are produced once all \
          its workers are ready, so neither phase is measured while JVMs start. %d run(s) in \
          one harness run, each on its own topic. \
          Simulator: %d ms per request, \
          max_num_seqs %d (capacity %.0f requests/s, far above what the workers ask). Each \
          worker: `worker.concurrency=fixed`, `worker.max-in-flight=%d`, one process each \
          with `-Xmx384m %s` (the README's options for small replicas); \
          share workers with the default `worker.share.consumers`. *Permits busy*: backend \
          calls in progress over the permits, sampled each second while the middle 80 %% of \
          the answers arrived. *Backend call*: the results' `timing.backend_ms`, median and \
          mean (the simulator's time per request plus the time the machine kept the call waiting). \
          *Share consumer*: mean time a share consumer was ready to fetch before records came, \
          and mean time from its poll to the acknowledgement of the last record it returned.

          | run | intake | workers | steady requests/s | permits busy | backend call p50 / mean | share consumer: fetch wait / round | answered | records taken per worker |
          | --- | --- | --- | --- | --- | --- | --- | --- | --- |
          %s

          **6 share workers / 2 consumer workers: %s** (median %.2fx, spread %.2fx to %.2fx; \
          target 2.5x, ideal 3x: 96 versus 32 calls at once). Broker, simulator and workers \
          share the machine, so the rates move from run to run; the ratio is the figure to read.
          """, requests, reps, requestMs, maxNumSeqs, capacity, PER_WORKER, String.join(" ", WORKER_JVM),
          rows.toString().trim(), each,
          sorted.get(sorted.size() / 2), sorted.get(0), sorted.get(sorted.size() - 1));
      boolean usual = requestMs == DEFAULT_REQUEST_MS;
      Report.write(root.resolve("BENCHMARKS.md"), usual ? "share-scaling"
          : "share-scaling-" + requestMs + "ms", "Share groups: 6 workers on 2 partitions"
          + (usual ? "" : ", " + requestMs + " ms per request"),
          "java -jar bench/target/bench.jar share-scaling --requests " + requests + " --reps "
              + reps + (usual ? "" : " --request-ms " + requestMs) + (shareConfig.isEmpty() ? "" : " --share-config " + String.join(",",
                  shareConfig.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                      .toList())), body);
      return passed ? 0 : 1;
    }
  }

  /**
   * Starts the (new, empty) share group at the end of {@code topic}, where the consumer phase
   * left it, so the share workers take only the records produced for their phase.
   */
  private static void startAtEnd(EmbeddedKafka kafka, String group, String topic)
      throws Exception {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
      int partitions = admin.describeTopics(List.of(topic)).allTopicNames().get().get(topic)
          .partitions().size();
      Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
      for (int p = 0; p < partitions; p++) {
        latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
      }
      Map<TopicPartition, Long> ends = new HashMap<>();
      admin.listOffsets(latest).all().get().forEach((tp, info) -> ends.put(tp, info.offset()));
      admin.alterShareGroupOffsets(group, ends).all().get();
      Map<TopicPartition, SharePartitionOffsetInfo> set = admin.listShareGroupOffsets(
          Map.of(group, new ListShareGroupOffsetsSpec())).partitionsToOffsetInfo(group).get();
      for (Map.Entry<TopicPartition, Long> e : ends.entrySet()) {
        SharePartitionOffsetInfo info = set.get(e.getKey());
        if (info == null || info.startOffset() != e.getValue()) {
          throw new IllegalStateException("share group " + group + " does not start at the end "
              + "of " + topic + ": " + set + ", ends " + ends);
        }
      }
    }
  }

  private static long benchCpuMillis() {
    return ProcessHandle.current().info().totalCpuDuration().map(Duration::toMillis).orElse(0L);
  }

  /** All jiffies and idle jiffies of the machine (/proc/stat). */
  private static long[] machineJiffies() {
    try {
      String[] f = java.nio.file.Files.readAllLines(Path.of("/proc/stat")).get(0).trim()
          .split("\\s+");
      long total = 0;
      for (int i = 1; i < f.length; i++) {
        total += Long.parseLong(f[i]);
      }
      return new long[] {total, Long.parseLong(f[4]) + Long.parseLong(f[5])};
    } catch (java.io.IOException e) {
      return new long[] {1, 0};
    }
  }

  private static Phase phase(EmbeddedKafka kafka, VllmSimulator sim, Path workerJar, Path work,
      String name, String intake, int workers, String resultsTopic, int requests,
      Map<String, String> intakeConfig) throws Exception {
    List<WorkerProcess> procs = new ArrayList<>();
    if (intake.equals("share")) {
      // the topic still holds the consumer phase's records: this group starts at its end
      startAtEnd(kafka, name + "-" + intake, name + ".requests");
    }
    try (ResultTally tally = new ResultTally(kafka.bootstrapServers(), resultsTopic, requests)) {
      for (int i = 0; i < workers; i++) {
        Map<String, String> c = new HashMap<>(Topics.workerConfig(kafka, sim, name));
        c.put("kafka.group.id", name + "-" + intake);
        c.put("topics.results", resultsTopic);
        c.put("worker.id", name + "-" + intake + "-" + i);
        c.put("worker.intake", intake);
        c.put("worker.concurrency", "fixed");
        c.put("worker.max-in-flight", Integer.toString(PER_WORKER));
        c.putAll(intakeConfig);
        procs.add(new WorkerProcess(workerJar, "384m", WORKER_JVM, c, work));
      }
      // the records come once every worker of the phase is up, so both phases are measured
      // from workers that have started and warmed up, not from JVMs still starting
      for (WorkerProcess p : procs) {
        p.awaitReady(Duration.ofMinutes(2));
      }
      Load.produce(kafka.bootstrapServers(), name + ".requests", requests, 1);
      long benchCpu0 = benchCpuMillis();
      long[] machine0 = machineJiffies();
      // permit use, sampled each second while the middle 80 % of the answers arrive
      double[] inFlight = new double[2];
      double[][] windowCpu = new double[2][];
      long[] windowAt = new long[2];
      boolean complete = tally.readAll(Duration.ofMinutes(10), () -> {
        // CPU of each process over the middle 80 % of the answers, printed for diagnosis
        int mark = tally.distinct <= requests / 10 ? -1
            : tally.distinct < requests * 9 / 10 ? 0 : 1;
        if (mark >= 0 && windowCpu[mark] == null) {
          windowAt[mark] = System.nanoTime();
          windowCpu[mark] = new double[procs.size() + 1];
          for (int i = 0; i < procs.size(); i++) {
            windowCpu[mark][i] = procs.get(i).cpuSeconds();
          }
          windowCpu[mark][procs.size()] = benchCpuMillis() / 1000.0;
        }
        if (tally.distinct > requests / 10 && tally.distinct < requests * 9 / 10) {
          for (WorkerProcess p : procs) {
            // the periodic scrape's value: a scrape of its own per worker each second would
            // double the scraping CPU of six workers and stall this reader on a busy machine
            double calls = p.scraped("kvw_backend_in_flight");
            if (!Double.isNaN(calls)) { // NaN: no scrape yet
              inFlight[0] += calls;
              inFlight[1]++;
            }
          }
        }
      });
      List<Long> polled = new ArrayList<>();
      double waitSum = 0;
      double waits = 0;
      double roundSum = 0;
      double rounds = 0;
      for (WorkerProcess p : procs) {
        polled.add(Math.round(p.metric("kvw_records_polled_total")));
        if (intake.equals("share")) {
          waitSum += p.metric("kvw_share_fetch_wait_seconds_sum");
          waits += p.metric("kvw_share_fetch_wait_seconds_count");
          roundSum += p.metric("kvw_share_round_seconds_sum");
          rounds += p.metric("kvw_share_round_seconds_count");
        }
      }
      long[] machine1 = machineJiffies();
      if (windowCpu[1] != null) {
        double secs = (windowAt[1] - windowAt[0]) / 1e9;
        StringBuilder w = new StringBuilder();
        double workersTotal = 0;
        for (int i = 0; i <= procs.size(); i++) {
          double cores = (windowCpu[1][i] - windowCpu[0][i]) / secs;
          if (i < procs.size()) {
            workersTotal += cores;
          }
          w.append(String.format(Locale.ROOT, " %.2f", cores));
        }
        System.out.printf(Locale.ROOT, "%s: steady window %.1f s, cores used: workers%s "
            + "(bench JVM last); workers total %.2f%n", intake, secs, w, workersTotal);
      }
      double benchCpu = (benchCpuMillis() - benchCpu0) / 1000.0;
      List<String> cpu = procs.stream().map(p -> String.format(Locale.ROOT, "%.1f",
          p.cpuSeconds())).toList();
      System.out.printf(Locale.ROOT, "%s: %.1f s; cpu: bench JVM %.1f s, workers %s, machine busy"
          + " %.0f %%; backend_ms p50 %d mean %.0f p99 %d; queue_ms p50 %d mean %.0f p99 %d; "
          + "per second %s%n", intake, tally.seconds(), benchCpu, cpu,
          100.0 * (1 - (double) (machine1[1] - machine0[1]) / (machine1[0] - machine0[0])),
          tally.backendMs.getValueAtPercentile(50), tally.backendMs.getMean(),
          tally.backendMs.getValueAtPercentile(99), tally.queueMs.getValueAtPercentile(50),
          tally.queueMs.getMean(), tally.queueMs.getValueAtPercentile(99),
          java.util.Arrays.toString(tally.perSecond()));
      double busy = inFlight[1] == 0 ? Double.NaN : inFlight[0] / inFlight[1] / PER_WORKER;
      for (WorkerProcess p : procs) {
        p.stop(Duration.ofSeconds(60));
      }
      double fetchWaitMs = waits == 0 ? Double.NaN : 1000 * waitSum / waits;
      double roundMs = rounds == 0 ? Double.NaN : 1000 * roundSum / rounds;
      System.out.printf(Locale.ROOT, "%s: %d workers, %.0f requests/s, permits busy %.0f %%, "
          + "share consumer fetch wait %.0f ms, round %.0f ms, taken %s%n", intake, workers,
          tally.steadyRate(), 100 * busy, fetchWaitMs, roundMs, polled);
      return new Phase(intake, workers, tally.steadyRate(), tally.distinct, tally.duplicates,
          tally.errors, polled, complete, busy, fetchWaitMs, roundMs,
          tally.backendMs.getValueAtPercentile(50), tally.backendMs.getMean());
    } finally {
      for (WorkerProcess p : procs) {
        p.close();
      }
    }
  }
}
