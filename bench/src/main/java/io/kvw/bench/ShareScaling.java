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
      int errors, List<Long> polledPerWorker, boolean complete) {}

  static int run(Path root, Path workerJar, Path work, int requests) throws Exception {
    Duration perRequest = Duration.ofMillis(200);
    int maxNumSeqs = 256;
    try (EmbeddedKafka kafka = EmbeddedKafka.builder().build();
        VllmSimulator sim = VllmSimulator.builder().modelName("sim-model")
            .timeToFirstToken(perRequest).timePerOutputToken(Duration.ZERO).outputTokens(1)
            .maxNumSeqs(maxNumSeqs).build()) {
      kafka.start();
      sim.start();
      Topics.create(kafka, "scale", 2);
      kafka.createTopic("scale.share.results", 2);
      Load.produce(kafka.bootstrapServers(), "scale.requests", requests, 1);
      Phase consumer = phase(kafka, sim, workerJar, work, "consumer", 2, "scale.results",
          requests);
      Phase share = phase(kafka, sim, workerJar, work, "share", 6, "scale.share.results",
          requests);
      double capacity = maxNumSeqs / (perRequest.toMillis() / 1000.0);
      double ratio = share.rate / consumer.rate;
      StringBuilder rows = new StringBuilder();
      for (Phase p : List.of(consumer, share)) {
        rows.append(String.format(Locale.ROOT, "| `worker.intake=%s` | %d | %.0f | %d of %d "
            + "(%d duplicates, %d errors) | %s |%n", p.intake, p.workers, p.rate, p.distinct,
            requests, p.duplicates, p.errors, p.polledPerWorker));
      }
      String body = String.format(Locale.ROOT, """
          One 2-partition requests topic with %d requests, drained twice in the same run: by 2 \
          workers in a consumer group, then (a new group from the start of the topic) by 6 \
          workers in a share group. Simulator: 200 ms per request, max_num_seqs %d (capacity \
          %.0f requests/s, far above what the workers ask). Each worker: \
          `worker.concurrency=fixed`, `worker.max-in-flight=%d`, one process each; share \
          workers with the default `worker.share.consumers=4`.

          | intake | workers | steady requests/s | answered | records taken per worker |
          | --- | --- | --- | --- | --- |
          %s

          **6 share workers / 2 consumer workers: %.2fx** (ideal 3x: 96 versus 32 calls at \
          once). Broker, simulator and workers share the machine, so the rates move from run to \
          run; the ratio is the figure to read.
          """, requests, maxNumSeqs, capacity, PER_WORKER, rows.toString().trim(), ratio);
      Report.write(root.resolve("BENCHMARKS.md"), "share-scaling",
          "Share groups: 6 workers on 2 partitions",
          "java -jar bench/target/bench.jar share-scaling --requests " + requests, body);
      boolean allTook = share.polledPerWorker.stream().allMatch(n -> n > 0);
      return consumer.complete && share.complete && allTook && ratio >= 2.5 ? 0 : 1;
    }
  }

  private static Phase phase(EmbeddedKafka kafka, VllmSimulator sim, Path workerJar, Path work,
      String intake, int workers, String resultsTopic, int requests) throws Exception {
    List<WorkerProcess> procs = new ArrayList<>();
    try (ResultTally tally = new ResultTally(kafka.bootstrapServers(), resultsTopic, requests)) {
      for (int i = 0; i < workers; i++) {
        Map<String, String> c = new HashMap<>(Topics.workerConfig(kafka, sim, "scale"));
        c.put("kafka.group.id", "scale-" + intake);
        c.put("topics.results", resultsTopic);
        c.put("worker.id", "scale-" + intake + "-" + i);
        c.put("worker.intake", intake);
        c.put("worker.concurrency", "fixed");
        c.put("worker.max-in-flight", Integer.toString(PER_WORKER));
        procs.add(new WorkerProcess(workerJar, "384m", c, work));
      }
      boolean complete = tally.readAll(Duration.ofMinutes(10), () -> { });
      List<Long> polled = new ArrayList<>();
      for (WorkerProcess p : procs) {
        polled.add(Math.round(p.metric("kvw_records_polled_total")));
      }
      for (WorkerProcess p : procs) {
        p.stop(Duration.ofSeconds(60));
      }
      System.out.printf(Locale.ROOT, "%s: %d workers, %.0f requests/s, taken %s%n", intake,
          workers, tally.steadyRate(), polled);
      return new Phase(intake, workers, tally.steadyRate(), tally.distinct, tally.duplicates,
          tally.errors, polled, complete);
    } finally {
      for (WorkerProcess p : procs) {
        p.close();
      }
    }
  }
}
