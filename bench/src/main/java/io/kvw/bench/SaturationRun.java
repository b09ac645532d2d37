package io.kvw.bench;

import io.kvw.testkit.kafka.EmbeddedKafka;
import io.kvw.testkit.sim.VllmSimulator;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * One saturation run: {@code requests} queued on 6 partitions of fresh topics, one worker
 * process ({@code worker.max-in-flight=256} plus {@code extra}) drains them, the results are
 * read as a {@code read_committed} consumer would.
 */
record SaturationRun(int requests, int answered, int errors, int duplicates, double rate,
    double cpuSeconds, long addedP50, long addedP99, int exit) {

  static SaturationRun run(EmbeddedKafka kafka, VllmSimulator sim, Path workerJar, Path work,
      String name, int requests, Map<String, String> extra) throws Exception {
    Topics.create(kafka, name, 6);
    double produceSeconds = Load.produce(kafka.bootstrapServers(), name + ".requests", requests,
        1);
    System.out.printf("%s: produced %d requests in %.1f s%n", name, requests, produceSeconds);
    Map<String, String> config = Topics.workerConfig(kafka, sim, name);
    config.put("worker.max-in-flight", "256");
    config.putAll(extra);
    try (ResultTally tally = new ResultTally(kafka.bootstrapServers(), name + ".results",
        requests);
        WorkerProcess worker = new WorkerProcess(workerJar, "1g", config, work)) {
      tally.readAll(Duration.ofMinutes(10), () -> { });
      double cpu = worker.cpuSeconds();
      int exit = worker.stop(Duration.ofSeconds(60));
      SaturationRun r = new SaturationRun(requests, tally.distinct, tally.errors,
          tally.duplicates, tally.steadyRate(), cpu, tally.addedMs.getValueAtPercentile(50),
          tally.addedMs.getValueAtPercentile(99), exit);
      System.out.println(name + ": " + r);
      return r;
    }
  }

  boolean complete() {
    return answered == requests && exit == 0;
  }
}
