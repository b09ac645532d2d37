package io.kvw.worker.dispatch.limit;

import io.kvw.worker.backend.BackendLoad;
import io.kvw.worker.backend.InferenceBackend;
import io.kvw.worker.dispatch.ConcurrencyLimiter;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Moves the dispatcher's concurrency limit every window: asks the backend for its load, feeds
 * the window's {@link Observation} to the server-share rule when the server reports a load and
 * to the latency rule when it does not, and sets the limiter, within {@code [min, max]}.
 */
public final class AdaptiveConcurrency implements AutoCloseable {
  private final InferenceBackend backend;
  private final ConcurrencyLimiter limiter;
  private final LimitRule withLoad;
  private final LimitRule withoutLoad;
  private final int min;
  private final int max;
  private final CallWindow window;
  private final ScheduledFuture<?> task;
  private final AtomicBoolean reading = new AtomicBoolean();

  public AdaptiveConcurrency(InferenceBackend backend, ConcurrencyLimiter limiter,
      CallWindow window, int min, int max, Duration every, ScheduledExecutorService scheduler) {
    this.backend = backend;
    this.limiter = limiter;
    this.window = window;
    this.withLoad = ServerShareLimit.builder().build();
    this.withoutLoad = LatencyLimit.defaults();
    this.min = min;
    this.max = max;
    this.task = scheduler.scheduleWithFixedDelay(this::adjust, every.toMillis(),
        every.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * The limit to open intake with: the slots the server has free now (from one
   * {@code GetLoads}), so a lone worker fills an idle server from its first poll instead of
   * ramping up to it, and a worker joining a busy one takes little until the rule gives it
   * its share; 16 when the server reports no load (the latency rule then grows it), never more
   * than {@code max}.
   */
  public static int startingLimit(InferenceBackend backend, int max) {
    int start = 16;
    try {
      Optional<BackendLoad> load = backend.load().get(2, TimeUnit.SECONDS);
      if (load.isPresent() && load.get().maxRunning() > 0) {
        BackendLoad l = load.get();
        start = Math.max(start, l.maxRunning() - l.running() - l.waiting());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
      // no reading: start low, as without GetLoads
    }
    return Math.max(1, Math.min(max, start));
  }

  private void adjust() {
    // one reading at a time: a slow GetLoads (up to its 1 s deadline) must not have two
    // windows applied at once, or applied out of order
    if (!reading.compareAndSet(false, true)) {
      return;
    }
    backend.load().whenComplete((load, e) -> {
      try {
        apply(e == null ? load : Optional.empty());
      } finally {
        reading.set(false);
      }
    });
  }

  /** One window's step; public for tests that drive it by hand. */
  public void apply(Optional<BackendLoad> load) {
    CallWindow.Summary calls = window.drain();
    Observation o = new Observation(limiter.inUse(), limiter.waiting(), load.orElse(null),
        calls.count(), calls.meanMs(), calls.overloads());
    int current = limiter.limit();
    int next = (load.isPresent() ? withLoad : withoutLoad).next(current, o);
    next = Math.max(min, Math.min(max, next));
    if (next != current) {
      limiter.setLimit(next);
    }
  }

  @Override
  public void close() {
    task.cancel(false);
  }
}
