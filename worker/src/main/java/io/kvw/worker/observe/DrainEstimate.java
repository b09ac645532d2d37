package io.kvw.worker.observe;

import java.util.ArrayDeque;

/**
 * How long the backlog would take to drain at the recent completion rate: backlog divided by
 * the records finished per second over the last {@code window}. This is the figure an
 * autoscaler should follow: it rises when records arrive faster than they finish, whatever
 * the model's speed, and it says nothing (NaN) while nothing finishes, when more replicas
 * would not help (an outage: see {@code kvw_backend_outage}).
 *
 * <p>Fed from one thread (the intake); read from any.
 */
public final class DrainEstimate {
  private record Sample(long nanos, long completed) {}

  private final long windowNanos;
  private final ArrayDeque<Sample> samples = new ArrayDeque<>();
  private volatile double seconds;
  private volatile double ratePerSecond;

  public DrainEstimate(java.time.Duration window) {
    this.windowNanos = window.toNanos();
  }

  /** Notes the backlog and the count of records finished so far, at {@code nowNanos}. */
  public void update(long nowNanos, long backlog, long completedTotal) {
    samples.addLast(new Sample(nowNanos, completedTotal));
    while (samples.size() > 2 && nowNanos - samples.peekFirst().nanos() > windowNanos) {
      samples.pollFirst();
    }
    Sample oldest = samples.peekFirst();
    long elapsed = nowNanos - oldest.nanos();
    double rate = elapsed <= 0 ? 0 : (completedTotal - oldest.completed()) * 1e9 / elapsed;
    ratePerSecond = rate;
    if (backlog <= 0) {
      seconds = 0;
    } else {
      seconds = rate > 0 ? backlog / rate : Double.NaN;
    }
  }

  /** Seconds to drain the backlog at the recent rate; 0 without backlog; NaN without progress. */
  public double seconds() {
    return seconds;
  }

  /** Records finished per second over the window. */
  public double ratePerSecond() {
    return ratePerSecond;
  }
}
