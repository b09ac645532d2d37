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
 * the busier the cores, the likelier a woken thread waits for one, at every hand-off a record
 * makes. The latency report gives it for the floor's stretch as well as the worker's phases.
 *
 * @param busyShare of all the cores' time, the share not idle (nor waiting for I/O): one minus
 *     their idle time over the stretch's wall time on every core. Not the kernel's busy ticks:
 *     in one 50 % phase those came to 35 % busy while the four processes used 0.91 of the two
 *     cores
 * @param measured the worker, or the relay when the floor is measured
 */
record MachineCpu(double busyShare, double measured, double broker, double simulator,
    double bench) {
  private static final int CORES = Runtime.getRuntime().availableProcessors();

  /** The readings at one moment, to subtract. */
  record Mark(long nanos, double idleSeconds, double measured, double broker, double simulator,
      double bench) {
    static Mark now(long measuredPid, long brokerPid, long simulatorPid) {
      return new Mark(System.nanoTime(), coresIdleSeconds(), HarnessJvm.cpuSeconds(measuredPid),
          HarnessJvm.cpuSeconds(brokerPid), HarnessJvm.cpuSeconds(simulatorPid),
          HarnessJvm.cpuSeconds(ProcessHandle.current().pid()));
    }
  }

  static MachineCpu between(Mark before, Mark after) {
    double seconds = Math.max(1e-3, (after.nanos() - before.nanos()) / 1e9);
    double idle = after.idleSeconds() - before.idleSeconds();
    return new MachineCpu(1 - idle / (seconds * CORES),
        (after.measured() - before.measured()) / seconds,
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
   * Idle (and I/O wait) seconds of all cores so far, from {@code /proc/stat}'s first line
   * ({@code cpu user nice system idle iowait ...}, in ticks of USER_HZ, 100 on Linux); NaN where
   * it cannot be read.
   */
  private static double coresIdleSeconds() {
    try {
      String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
      return (Long.parseLong(f[4]) + Long.parseLong(f[5])) / 100.0;
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }
}
