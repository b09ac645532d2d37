package io.kvw.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** One line describing where a benchmark ran, for BENCHMARKS.md. */
final class Machine {
  private Machine() {}

  static String describe() {
    String cpu = "unknown CPU";
    try {
      cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream()
          .filter(l -> l.startsWith("model name")).findFirst()
          .map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse(cpu);
    } catch (IOException e) {
      // not Linux
    }
    long memGiB = ((com.sun.management.OperatingSystemMXBean) java.lang.management
        .ManagementFactory.getOperatingSystemMXBean()).getTotalMemorySize() >> 30;
    return Runtime.getRuntime().availableProcessors() + " cores (" + cpu + "), " + memGiB
        + " GiB, Java " + System.getProperty("java.version") + ", " + System.getProperty(
        "os.name") + " " + System.getProperty("os.arch")
        + "; broker, simulator, load generator and worker all on this machine";
  }
}
