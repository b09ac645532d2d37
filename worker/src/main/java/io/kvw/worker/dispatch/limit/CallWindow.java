package io.kvw.worker.dispatch.limit;

/**
 * Accumulates finished backend calls between two adjustments: how many, their mean duration,
 * how many failed for overload. Cheap enough for the dispatch path (one lock, no allocation).
 */
public final class CallWindow {
  private long count;
  private long totalNanos;
  private int overloads;

  /** What a window held. */
  public record Summary(int count, double meanMs, int overloads) {}

  public synchronized void record(long nanos, boolean overload) {
    count++;
    totalNanos += nanos;
    if (overload) {
      overloads++;
    }
  }

  /** Returns the window so far and starts a new one. */
  public synchronized Summary drain() {
    Summary s = new Summary((int) count, count == 0 ? 0 : totalNanos / 1e6 / count, overloads);
    count = 0;
    totalNanos = 0;
    overloads = 0;
    return s;
  }
}
