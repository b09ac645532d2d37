package io.kvw.bench;

import io.kvw.testkit.kafka.EmbeddedKafka;
import io.kvw.testkit.sim.VllmSimulator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One saturation run: {@code requests} queued on 6 partitions of fresh topics, one worker
 * process (defaults plus {@code extra}) drains them, the results are read as a
 * {@code read_committed} consumer would. While it runs, the simulator's running and waiting
 * counts (what {@code GetLoads} reports) are sampled every 50 ms; the percentiles cover the
 * steady part of the run (10th to 90th percentile of answers), so they are the batch sizes
 * vLLM ran.
 *
 * @param rate answers per second between the 10th and 90th percentile of answers
 * @param firstToLast answers per second from the first answer to the last
 * @param secondsTo90 seconds from the worker's first poll to the end of the first 500 ms in
 *     which it published at least 90 % of {@code rate}
 * @param running the simulator's running requests, p10 / p50 / p90, in the steady part
 * @param waiting its waiting requests, p50 / p90, in the steady part
 */
record SaturationRun(int requests, int answered, int errors, int duplicates, double rate,
    double firstToLast, double secondsTo90, int[] running, int[] waiting, double cpuSeconds,
    long addedP50, long addedP99, int exit) {

  static SaturationRun run(EmbeddedKafka kafka, VllmSimulator sim, Path workerJar, Path work,
      String name, int requests, Map<String, String> extra) throws Exception {
    return run(kafka, sim, workerJar, work, name, requests, List.of(), extra);
  }

  /** The same, with more JVM options for the worker. */
  static SaturationRun run(EmbeddedKafka kafka, VllmSimulator sim, Path workerJar, Path work,
      String name, int requests, List<String> jvmArgs, Map<String, String> extra)
      throws Exception {
    Topics.create(kafka, name, 6);
    double produceSeconds = Load.produce(kafka.bootstrapServers(), name + ".requests", requests,
        1);
    System.out.printf("%s: produced %d requests in %.1f s%n", name, requests, produceSeconds);
    Map<String, String> config = Topics.workerConfig(kafka, sim, name);
    config.putAll(extra);
    List<long[]> load = new ArrayList<>(); // nanoTime, running, waiting
    ScheduledExecutorService sampler = Executors.newSingleThreadScheduledExecutor();
    sampler.scheduleAtFixedRate(() -> {
      long[] sample = {System.nanoTime(), sim.stats().running(), sim.stats().waiting()};
      synchronized (load) {
        load.add(sample);
      }
    }, 0, 50, TimeUnit.MILLISECONDS);
    try (ResultTally tally = new ResultTally(kafka.bootstrapServers(), name + ".results",
        requests);
        WorkerProcess worker = new WorkerProcess(workerJar, "1g", jvmArgs, config, work)) {
      tally.readAll(Duration.ofMinutes(10), () -> { });
      sampler.shutdownNow();
      double cpu = worker.cpuSeconds();
      int exit = worker.stop(Duration.ofSeconds(60));
      long from = tally.arrivalNanosAt(0.1);
      long to = tally.arrivalNanosAt(0.9);
      int[] running;
      int[] waiting;
      synchronized (load) {
        running = load.stream().filter(s -> s[0] >= from && s[0] <= to)
            .mapToInt(s -> (int) s[1]).sorted().toArray();
        waiting = load.stream().filter(s -> s[0] >= from && s[0] <= to)
            .mapToInt(s -> (int) s[2]).sorted().toArray();
      }
      double rate = tally.steadyRate();
      SaturationRun r = new SaturationRun(requests, tally.distinct, tally.errors,
          tally.duplicates, rate, tally.firstToLastRate(), secondsTo(tally, 0.9 * rate),
          new int[] {at(running, 10), at(running, 50), at(running, 90)},
          new int[] {at(waiting, 50), at(waiting, 90)}, cpu,
          tally.addedMs.getValueAtPercentile(50), tally.addedMs.getValueAtPercentile(99), exit);
      System.out.println(name + ": " + r);
      return r;
    } finally {
      sampler.shutdownNow();
    }
  }

  /**
   * Seconds from the first poll to the end of the first 500 ms window (slid in 50 ms steps)
   * whose results reach {@code rate}, on the worker's clock; NaN if none does.
   */
  private static double secondsTo(ResultTally tally, double rate) {
    long[] published = Arrays.copyOf(tally.publishedMillis, tally.distinct);
    Arrays.sort(published);
    long start = tally.firstPolledMillis;
    int needed = (int) Math.ceil(rate * 0.5);
    int lo = 0;
    int hi = 0;
    for (long end = start + 500; published.length > 0 && end <= published[published.length - 1];
        end += 50) {
      while (hi < published.length && published[hi] < end) {
        hi++;
      }
      while (lo < hi && published[lo] < end - 500) {
        lo++;
      }
      if (hi - lo >= needed) {
        return (end - start) / 1000.0;
      }
    }
    return Double.NaN;
  }

  private static int at(int[] sorted, int percentile) {
    return sorted.length == 0 ? -1 : sorted[Math.min(sorted.length - 1,
        sorted.length * percentile / 100)];
  }

  boolean complete() {
    return answered == requests && exit == 0;
  }

  @Override
  public String toString() {
    return String.format(java.util.Locale.ROOT, "answered %d/%d, errors %d, duplicates %d, "
        + "steady %.0f/s, first-to-last %.0f/s, %.2f s to 90 %%, running p10/50/90 %s, "
        + "waiting p50/90 %s, cpu %.1f s, exit %d", answered, requests, errors, duplicates,
        rate, firstToLast, secondsTo90, Arrays.toString(running), Arrays.toString(waiting),
        cpuSeconds, exit);
  }
}
