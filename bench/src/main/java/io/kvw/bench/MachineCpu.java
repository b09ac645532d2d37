package io.kvw.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How busy the machine's cores were over a measured stretch, and the cores' worth each of the
 * bench's processes used in it (CPU-seconds per second), from {@code /proc} (Linux only; NaN
 * elsewhere). Here the broker, the simulator and the bench's load generator and result reader
 * share the cores with the process measured, where in production they run on other machines:
 * the busier the cores, the longer a woken thread waits for one, at every hand-off a record
 * makes. A latency measured on a busier machine than its floor is not held to that floor.
 *
 * @param busyShare of all the cores' time, the share not idle (nor waiting for I/O)
 * @param measured the worker, or the relay when the floor is measured
 */
record MachineCpu(double busyShare, double measured, double broker, double simulator,
    double bench) {
  /** The readings at one moment, to subtract. */
  record Mark(long nanos, long busyTicks, long allTicks, double measured, double broker,
      double simulator, double bench) {
    static Mark now(long measuredPid, long brokerPid, long simulatorPid) {
      long[] cores = cores();
      return new Mark(System.nanoTime(), cores[0], cores[1], HarnessJvm.cpuSeconds(measuredPid),
          HarnessJvm.cpuSeconds(brokerPid), HarnessJvm.cpuSeconds(simulatorPid),
          HarnessJvm.cpuSeconds(ProcessHandle.current().pid()));
    }
  }

  static MachineCpu between(Mark before, Mark after) {
    double seconds = Math.max(1e-3, (after.nanos() - before.nanos()) / 1e9);
    long all = after.allTicks() - before.allTicks();
    return new MachineCpu(all > 0 ? (double) (after.busyTicks() - before.busyTicks()) / all
        : Double.NaN, (after.measured() - before.measured()) / seconds,
        (after.broker() - before.broker()) / seconds,
        (after.simulator() - before.simulator()) / seconds,
        (after.bench() - before.bench()) / seconds);
  }

  /** For the report: {@code 78 %; 0.43, 0.46, 0.23, 0.38}. */
  String describe() {
    return String.format(Locale.ROOT, "%.0f %%; %.2f, %.2f, %.2f, %.2f", 100 * busyShare,
        measured, broker, simulator, bench);
  }

  /**
   * Busy and all ticks of all cores so far, from {@code /proc/stat}'s first line ({@code cpu
   * user nice system idle iowait irq softirq steal ...}); zeros where it cannot be read.
   */
  private static long[] cores() {
    try {
      String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
      long all = 0;
      for (int i = 1; i <= 8 && i < f.length; i++) {
        all += Long.parseLong(f[i]);
      }
      long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
      return new long[] {all - idle, all};
    } catch (IOException | RuntimeException e) {
      return new long[] {0, 0};
    }
  }
}
