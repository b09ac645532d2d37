package io.kvw.worker.cli;

import java.io.PrintStream;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * {@code submit}'s progress on stderr: on a terminal a bar redrawn in place with {@code \r}
 * (count, rate, ETA), otherwise a plain line every few seconds, for logs.
 */
final class Progress implements AutoCloseable {
  private static final int BAR_WIDTH = 30;

  private final PrintStream out;
  private final boolean terminal;
  private final int total;
  private final long startNanos = System.nanoTime();
  private final AtomicInteger done = new AtomicInteger();
  private final AtomicInteger errors = new AtomicInteger();
  private final ScheduledExecutorService timer;

  Progress(PrintStream out, boolean terminal, int total, Duration plainInterval) {
    this.out = out;
    this.terminal = terminal;
    this.total = total;
    this.timer = Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "progress");
      t.setDaemon(true);
      return t;
    });
    long every = terminal ? 200 : plainInterval.toMillis();
    timer.scheduleAtFixedRate(this::draw, every, every, TimeUnit.MILLISECONDS);
  }

  void completed(boolean error) {
    done.incrementAndGet();
    if (error) {
      errors.incrementAndGet();
    }
  }

  private synchronized void draw() {
    String line = line(done.get(), errors.get(), System.nanoTime() - startNanos);
    if (terminal) {
      out.print("\r" + line + "\u001b[K");
    } else {
      out.println(line);
    }
    out.flush();
  }

  String line(int n, int failed, long elapsedNanos) {
    double seconds = Math.max(elapsedNanos / 1e9, 1e-3);
    double rate = n / seconds;
    int filled = total == 0 ? BAR_WIDTH : (int) ((long) BAR_WIDTH * n / total);
    String eta = rate > 0 ? clock((long) ((total - n) / rate)) : "--:--";
    String counts = String.format("%d/%d %3d%%  %.1f/s  ETA %s  errors %d", n, total,
        total == 0 ? 100 : 100L * n / total, rate, eta, failed);
    if (!terminal) {
      return "progress " + counts + "  elapsed " + clock((long) seconds);
    }
    return "[" + "#".repeat(filled) + ".".repeat(BAR_WIDTH - filled) + "] " + counts;
  }

  private static String clock(long seconds) {
    return seconds >= 3600 ? String.format("%d:%02d:%02d", seconds / 3600, seconds / 60 % 60,
        seconds % 60) : String.format("%d:%02d", seconds / 60, seconds % 60);
  }

  /** Stops redrawing; a terminal gets its final bar and a line break. */
  @Override
  public void close() {
    timer.shutdownNow();
    draw();
    if (terminal) {
      out.println();
    }
  }
}
