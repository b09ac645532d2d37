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

/**
 * Replicas beyond the partition count: the same 2-partition requests topic drained first by 2
 * workers in a consumer group (one per partition, the most a consumer group can keep busy),
 * then by 6 workers in a share group, against one simulator with room for all of them. Each
 * worker runs a fixed 16 calls at once, so a worker, not the simulator, is the limit, and the
 * ratio shows what the extra replicas add.
 */
final class ShareScaling {
  private static final int PER_WORKER = 16;

  private ShareScaling() {}

  /** One phase's figures. */
  private record Phase(String intake, int workers, double rate, int distinct, int duplicates,
      int errors, List<Long> polledPerWorker, boolean complete, double busy, double fetchWaitMs,
      double roundMs) {

    /** The share consumers' mean wait to fetch and mean round, or a dash for consumer mode. */
    String lanes() {
      return Double.isNaN(roundMs) ? "–" : String.format(Locale.ROOT, "%.0f ms / %.0f ms",
          fetchWaitMs, roundMs);
    }
  }

  static int run(Path root, Path workerJar, Path work, int requests, int reps)
      throws Exception {
    return run(root, workerJar, work, requests, reps, Map.of());
  }

  /**
   * @param shareConfig worker settings given to the share workers only (to compare share-intake
   *     tunings, e.g. {@code worker.share.consumers}); empty for the defaults
   */
  static int run(Path root, Path workerJar, Path work, int requests, int reps,
      Map<String, String> shareConfig) throws Exception {
    Duration perRequest = Duration.ofMillis(200);
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
        Load.produce(kafka.bootstrapServers(), name + ".requests", requests, 1);
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
              + "| %s | %d of %d (%d duplicates, %d errors) | %s |%n", rep, p.intake, p.workers,
              p.rate, 100 * p.busy, p.lanes(), p.distinct, requests, p.duplicates, p.errors,
              p.polledPerWorker));
        }
        boolean allTook = share.polledPerWorker.stream().allMatch(n -> n > 0);
        passed &= consumer.complete && share.complete && allTook && ratio >= 2.5;
      }
      double capacity = maxNumSeqs / (perRequest.toMillis() / 1000.0);
      List<Double> sorted = ratios.stream().sorted().toList();
      String each = String.join(", ", ratios.stream().map(r -> String.format(Locale.ROOT,
          "%.2fx", r)).toList());
      String body = String.format(Locale.ROOT, """
          One 2-partition requests topic with %d requests per run, drained twice in the same \
          run: by 2 workers in a consumer group, then (a new group from the start of the topic) \
          by 6 workers in a share group; %d run(s) in one harness run, each on its own topic. \
          Simulator: 200 ms per request, max_num_seqs %d (capacity %.0f requests/s, far above \
          what the workers ask). Each worker: `worker.concurrency=fixed`, \
          `worker.max-in-flight=%d`, one process each; share workers with the default \
          `worker.share.consumers`. *Permits busy*: backend calls in progress over the \
          permits, sampled each second while the middle 80 %% of the answers arrived. \
          *Share consumer*: mean time a share consumer was ready to fetch before records came, \
          and mean time from its poll to the acknowledgement of the last record it returned.

          | run | intake | workers | steady requests/s | permits busy | share consumer: fetch wait / round | answered | records taken per worker |
          | --- | --- | --- | --- | --- | --- | --- | --- |
          %s

          **6 share workers / 2 consumer workers: %s** (median %.2fx, spread %.2fx to %.2fx; \
          target 2.5x, ideal 3x: 96 versus 32 calls at once). Broker, simulator and workers \
          share the machine, so the rates move from run to run; the ratio is the figure to read.
          """, requests, reps, maxNumSeqs, capacity, PER_WORKER, rows.toString().trim(), each,
          sorted.get(sorted.size() / 2), sorted.get(0), sorted.get(sorted.size() - 1));
      Report.write(root.resolve("BENCHMARKS.md"), "share-scaling",
          "Share groups: 6 workers on 2 partitions",
          "java -jar bench/target/bench.jar share-scaling --requests " + requests + " --reps "
              + reps + (shareConfig.isEmpty() ? "" : " --share-config " + String.join(",",
                  shareConfig.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                      .toList())), body);
      return passed ? 0 : 1;
    }
  }

  private static Phase phase(EmbeddedKafka kafka, VllmSimulator sim, Path workerJar, Path work,
      String name, String intake, int workers, String resultsTopic, int requests,
      Map<String, String> intakeConfig) throws Exception {
    List<WorkerProcess> procs = new ArrayList<>();
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
        procs.add(new WorkerProcess(workerJar, "384m", c, work));
      }
      // permit use, sampled each second while the middle 80 % of the answers arrive
      double[] inFlight = new double[2];
      boolean complete = tally.readAll(Duration.ofMinutes(10), () -> {
        if (tally.distinct > requests / 10 && tally.distinct < requests * 9 / 10) {
          for (WorkerProcess p : procs) {
            double calls = p.metric("kvw_backend_in_flight");
            if (!Double.isNaN(calls)) { // NaN: that scrape failed (a busy machine)
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
          tally.errors, polled, complete, busy, fetchWaitMs, roundMs);
    } finally {
      for (WorkerProcess p : procs) {
        p.close();
      }
    }
  }
}
