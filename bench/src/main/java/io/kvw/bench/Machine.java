package io.kvw.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;

/** One line describing where a benchmark ran, for BENCHMARKS.md. */
final class Machine {
  private Machine() {}

  static String describe() {
    String cpu = "unknown CPU";
    try {
      List<String> info = Files.readAllLines(Path.of("/proc/cpuinfo"));
      cpu = field(info, "model name").orElse(cpu);
      // VMs of the same model name came at 2.1 and 2.8 GHz, with different figures
      String mhz = field(info, "cpu MHz").orElse("");
      if (!mhz.isEmpty()) {
        cpu += ", " + mhz.replaceFirst("\\.0+$", "") + " MHz";
      }
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

  private static Optional<String> field(List<String> cpuinfo, String name) {
    return cpuinfo.stream().filter(l -> l.startsWith(name)).findFirst()
        .map(l -> l.substring(l.indexOf(':') + 1).trim());
  }
}
