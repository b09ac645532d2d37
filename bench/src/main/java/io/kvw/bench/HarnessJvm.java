package io.kvw.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;

/**
 * What the bench reads from, and does to, the JVMs it starts: their GC pauses (from a GC log),
 * their JIT compiler threads' CPU (from {@code /proc}), and a full collection on request.
 */
final class HarnessJvm {
  private HarnessJvm() {}

  /**
   * Runs a full collection in JVM {@code pid} ({@code jcmd PID GC.run}) and waits for it.
   * The latency bench does this to its broker and simulator before each measured stretch, so
   * that their young generations start empty and their collections fall between stretches,
   * not inside them: they are the harness, and their pauses would be charged to the worker.
   */
  static void collect(long pid) {
    Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
    try {
      Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "GC.run")
          .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
      if (!p.waitFor(60, TimeUnit.SECONDS)) {
        p.destroyForcibly();
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot run " + jcmd + " (the bench needs a JDK)", e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * CPU seconds the JIT compiler threads of JVM {@code pid} have used so far (read from
   * {@code /proc/<pid>/task}, Linux only; NaN elsewhere): near zero over a window means the
   * JVM ran compiled code there, not still compiling it.
   */
  static double compilerCpuSeconds(long pid) {
    Path tasks = Path.of("/proc", Long.toString(pid), "task");
    double seconds = 0;
    try (var dirs = Files.list(tasks)) {
      for (Path task : (Iterable<Path>) dirs::iterator) {
        try {
          Stat stat = Stat.read(task.resolve("stat"));
          if (stat.name().contains("CompilerThre")) {
            seconds += stat.cpuSeconds();
          }
        } catch (IOException | RuntimeException e) {
          // the thread ended between the listing and the read
        }
      }
    } catch (IOException e) {
      return Double.NaN;
    }
    return seconds;
  }

  /** CPU-seconds process {@code pid} has used so far, user and kernel mode; NaN if unread. */
  static double cpuSeconds(long pid) {
    try {
      return Stat.read(Path.of("/proc", Long.toString(pid), "stat")).cpuSeconds();
    } catch (IOException | RuntimeException e) {
      return Double.NaN;
    }
  }

  /** A process's or thread's {@code /proc} stat: its name and CPU in user and kernel mode. */
  private record Stat(String name, double userSeconds, double systemSeconds) {
    static Stat read(Path file) throws IOException {
      String stat = Files.readString(file);
      int close = stat.lastIndexOf(')');
      // after the name: state is field 3, utime and stime fields 14 and 15, in ticks of
      // USER_HZ, which is 100 on Linux
      String[] f = stat.substring(close + 2).split(" ");
      return new Stat(stat.substring(stat.indexOf('(') + 1, close),
          Long.parseLong(f[11]) / 100.0, Long.parseLong(f[12]) / 100.0);
    }

    double cpuSeconds() {
      return userSeconds + systemSeconds;
    }
  }

  /** Warm-ups run in steps of this long until the JVM's compiler is quiet over one. */
  static final int WARM_UP_STEP_SECONDS = 5;
  /** Quiet: its compiler threads used under this share of a core over a step. */
  static final double QUIET_JIT_SHARE = 0.02;

  /** One step of load for {@link #warmUntilCompiled}, named by its index. */
  interface WarmUpStep {
    void run(int step) throws Exception;
  }

  /**
   * Runs {@code step} ({@link #WARM_UP_STEP_SECONDS} of load each) until JVM {@code pid}'s JIT
   * compiler threads used under {@link #QUIET_JIT_SHARE} of a core over one, or for at most
   * {@code maxSeconds}; returns what it took, e.g. {@code "60 s (JIT 0.05 s in the last 5 s)"}.
   * A JVM measured while its compiler still takes a share of two cores measures compilation.
   */
  static String warmUntilCompiled(long pid, int maxSeconds, WarmUpStep step) throws Exception {
    return warmUntilCompiled(List.of(pid), maxSeconds, step);
  }

  /**
   * The same for several JVMs at once (the harness's simulator, broker and bench under one
   * load):
   * steps run until every one of them was quiet over the same step; the JIT figures returned
   * are theirs in that order.
   */
  static String warmUntilCompiled(List<Long> pids, int maxSeconds, WarmUpStep step)
      throws Exception {
    int seconds = 0;
    double[] jit = new double[pids.size()];
    Arrays.fill(jit, Double.NaN);
    for (int i = 0; seconds < maxSeconds; i++) {
      double[] before = new double[pids.size()];
      for (int p = 0; p < pids.size(); p++) {
        before[p] = compilerCpuSeconds(pids.get(p));
      }
      step.run(i);
      seconds += WARM_UP_STEP_SECONDS;
      boolean quiet = true;
      for (int p = 0; p < pids.size(); p++) {
        jit[p] = compilerCpuSeconds(pids.get(p)) - before[p];
        quiet &= jit[p] < QUIET_JIT_SHARE * WARM_UP_STEP_SECONDS;
      }
      if (quiet) {
        break;
      }
    }
    List<String> each = new ArrayList<>();
    for (double j : jit) {
      each.add(String.format(Locale.ROOT, "%.2f s", j));
    }
    return String.format(Locale.ROOT, "%d s (JIT %s in the last %d s)", seconds,
        String.join(" / ", each), WARM_UP_STEP_SECONDS);
  }

  /**
   * What the OS counted for a JVM so far: CPU in user and kernel mode, thread switches, and per
   * kind of thread (its name with the digits taken out, so a pool's threads count together)
   * the sleeps and CPU-seconds of the threads alive when it was read.
   */
  record Sched(double userSeconds, double systemSeconds, long voluntarySwitches,
      long involuntarySwitches, Map<String, ThreadCost> threads) {
    Sched minus(Sched before) {
      Map<String, ThreadCost> each = new TreeMap<>();
      threads.forEach((name, now) -> each.put(name,
          now.minus(before.threads.getOrDefault(name, ThreadCost.NONE))));
      return new Sched(userSeconds - before.userSeconds, systemSeconds - before.systemSeconds,
          voluntarySwitches - before.voluntarySwitches,
          involuntarySwitches - before.involuntarySwitches, each);
    }
  }

  /**
   * One kind of thread's sleeps (voluntary switches) and CPU-seconds. A thread that ended
   * between two readings takes its counts with it, so a difference is floored at zero.
   */
  record ThreadCost(long sleeps, double cpuSeconds) {
    static final ThreadCost NONE = new ThreadCost(0, 0);

    ThreadCost plus(ThreadCost o) {
      return new ThreadCost(sleeps + o.sleeps, cpuSeconds + o.cpuSeconds);
    }

    ThreadCost minus(ThreadCost o) {
      return new ThreadCost(Math.max(0, sleeps - o.sleeps),
          Math.max(0, cpuSeconds - o.cpuSeconds));
    }
  }

  /**
   * CPU and context switches of JVM {@code pid} so far, summed over its threads (from {@code
   * /proc}, Linux only; zeros elsewhere). A voluntary switch is a thread going to sleep (to be
   * woken by another, or by the network); at partial load each record wakes several threads.
   */
  static Sched sched(long pid) {
    Path proc = Path.of("/proc", Long.toString(pid));
    double user = 0;
    double system = 0;
    long voluntary = 0;
    long involuntary = 0;
    Map<String, ThreadCost> threads = new TreeMap<>();
    try {
      Stat process = Stat.read(proc.resolve("stat"));
      user = process.userSeconds();
      system = process.systemSeconds();
      try (var dirs = Files.list(proc.resolve("task"))) {
        for (Path task : (Iterable<Path>) dirs::iterator) {
          try {
            long sleeps = 0;
            for (String l : Files.readAllLines(task.resolve("status"))) {
              if (l.startsWith("voluntary_ctxt_switches:")) {
                sleeps = Long.parseLong(l.substring(l.indexOf(':') + 1).trim());
                voluntary += sleeps;
              } else if (l.startsWith("nonvoluntary_ctxt_switches:")) {
                involuntary += Long.parseLong(l.substring(l.indexOf(':') + 1).trim());
              }
            }
            Stat stat = Stat.read(task.resolve("stat"));
            threads.merge(stat.name().replaceAll("[0-9]+", "#"),
                new ThreadCost(sleeps, stat.cpuSeconds()), ThreadCost::plus);
          } catch (IOException | RuntimeException e) {
            // the thread ended between the listing and the read
          }
        }
      }
    } catch (IOException | RuntimeException e) {
      // not Linux, or gone
    }
    return new Sched(user, system, voluntary, involuntary, threads);
  }

  /**
   * The pauses in the GC log {@code gcLog} ({@code -Xlog:gc:file=...}), in milliseconds, in
   * order (lines such as {@code [..][info][gc] GC(3) Pause Young (...) 56M->22M(507M) 8.540ms});
   * empty if it cannot be read.
   */
  static List<Double> pauses(Path gcLog) {
    List<Double> out = new ArrayList<>();
    try {
      for (String l : Files.readAllLines(gcLog)) {
        if (l.contains(" Pause ") && l.endsWith("ms")) {
          out.add(Double.parseDouble(l.substring(l.lastIndexOf(' ') + 1, l.length() - 2)));
        }
      }
    } catch (IOException | RuntimeException e) {
      // not written yet
    }
    return out;
  }

  /** {@code "N pauses, longest X ms, Y ms in all"}. */
  static String describe(List<Double> pauses) {
    double longest = 0;
    double all = 0;
    for (double ms : pauses) {
      longest = Math.max(longest, ms);
      all += ms;
    }
    return String.format(Locale.ROOT, "%d pauses, longest %.0f ms, %.0f ms in all",
        pauses.size(), longest, all);
  }
}
