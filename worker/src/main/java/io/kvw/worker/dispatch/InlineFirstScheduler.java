package io.kvw.worker.dispatch;

import dev.failsafe.spi.Scheduler;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Delayed;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Failsafe's scheduler for the dispatcher: an attempt due now runs on the thread that asks for
 * it (the one that admitted the record, or the one whose call just freed a permit); only an
 * attempt that waits, a retry after its backoff, goes to the scheduled executor.
 *
 * <p>Failsafe would otherwise hand every first attempt to the executor: one more thread hop per
 * record, and a single thread that every call's start queues behind. Profiled with an instant
 * backend, that thread did 18 % of the worker's work and each record waited on it.
 *
 * <p>Attempts run inline can nest: a call that fails at once frees its permit, and the next
 * waiting record starts from inside that failure. Past a small depth the next attempt goes to
 * the executor instead, so a run of such failures cannot overflow the stack.
 */
final class InlineFirstScheduler implements Scheduler {
  static final int MAX_DEPTH = 4;
  private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[1]);

  private final ScheduledExecutorService executor;

  InlineFirstScheduler(ScheduledExecutorService executor) {
    this.executor = executor;
  }

  /** Runs {@code task} now on this thread, or on the executor when attempts nest too deep. */
  void execute(Runnable task) {
    int[] depth = DEPTH.get();
    if (depth[0] >= MAX_DEPTH) {
      executor.execute(task);
      return;
    }
    depth[0]++;
    try {
      task.run();
    } finally {
      depth[0]--;
    }
  }

  @Override
  public ScheduledFuture<?> schedule(Callable<?> callable, long delay, TimeUnit unit) {
    int[] depth = DEPTH.get();
    if (delay > 0 || depth[0] >= MAX_DEPTH) {
      return executor.schedule(callable, delay, unit);
    }
    Ran ran = new Ran();
    depth[0]++;
    try {
      ran.complete(callable.call());
    } catch (Exception e) {
      ran.completeExceptionally(e);
    } finally {
      depth[0]--;
    }
    return ran;
  }

  /** An attempt that has already run: nothing left to wait for or cancel. */
  private static final class Ran extends CompletableFuture<Object>
      implements ScheduledFuture<Object> {
    @Override
    public long getDelay(TimeUnit unit) {
      return 0;
    }

    @Override
    public int compareTo(Delayed other) {
      return Long.compare(0, other.getDelay(TimeUnit.NANOSECONDS));
    }
  }
}
