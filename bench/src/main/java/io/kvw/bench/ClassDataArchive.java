package io.kvw.bench;

import io.kvw.testkit.kafka.EmbeddedKafka;
import io.kvw.testkit.sim.VllmSimulator;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Makes the worker's class-data sharing archive the way {@code deploy/Dockerfile} does: a
 * training run lists the classes the worker loads ({@code -XX:DumpLoadedClassList}), then
 * {@code java -Xshare:dump} maps them into an archive for {@code -jar worker.jar}. A worker
 * started with {@code -XX:SharedArchiveFile} reads those classes already parsed and verified.
 */
final class ClassDataArchive {
  private ClassDataArchive() {}

  /** Trains on {@code requests} records; returns the JVM option that uses the archive. */
  static String make(EmbeddedKafka kafka, VllmSimulator sim, Path workerJar, Path work,
      int requests) throws Exception {
    Path classes = work.resolve("worker-classes.lst");
    Path archive = work.resolve("worker.jsa");
    SaturationRun.run(kafka, sim, workerJar, work, "cds-training", requests,
        List.of("-XX:DumpLoadedClassList=" + classes), Map.of());
    Process dump = new ProcessBuilder(WorkerProcess.javaBin(), "-Xshare:dump",
        "-XX:SharedClassListFile=" + classes, "-XX:SharedArchiveFile=" + archive, "-cp",
        workerJar.toString()).redirectErrorStream(true)
        .redirectOutput(work.resolve("cds-dump.log").toFile()).start();
    if (!dump.waitFor(5, TimeUnit.MINUTES) || dump.exitValue() != 0 || !Files.exists(archive)) {
      dump.destroyForcibly();
      throw new IOException("java -Xshare:dump failed; see " + work.resolve("cds-dump.log"));
    }
    System.out.printf("class-data archive: %d classes listed, %.0f MiB%n",
        Files.readAllLines(classes).size(), Files.size(archive) / 1048576.0);
    return "-XX:SharedArchiveFile=" + archive;
  }
}
