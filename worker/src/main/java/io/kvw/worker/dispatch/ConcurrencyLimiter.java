package io.kvw.worker.dispatch;

import java.util.ArrayDeque;

/**
 * A concurrency limit where a waiting task holds no thread: a task that finds no free permit
 * is queued, and the task that releases a permit starts the next one on its own thread.
 *
 * <p>The limit can move at run time ({@link #setLimit}), so an adaptive rule can drive it.
 */
public final class ConcurrencyLimiter {
  private final ArrayDeque<Runnable> waiting = new ArrayDeque<>();
  private int limit;
  private int inUse;

  public ConcurrencyLimiter(int limit) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1, got " + limit);
    }
    this.limit = limit;
  }

  /** Runs {@code task} now if a permit is free, else when one is; the task must release it. */
  public void submit(Runnable task) {
    synchronized (this) {
      if (inUse >= limit) {
        waiting.addLast(task);
        return;
      }
      inUse++;
    }
    task.run();
  }

  /** Gives a permit back; starts the next waiting task (on this thread) if the limit allows. */
  public void release() {
    Runnable next;
    synchronized (this) {
      if (inUse > limit || waiting.isEmpty()) {
        inUse--;
        return;
      }
      next = waiting.pollFirst(); // hand the permit straight over
    }
    next.run();
  }

  /** Changes the limit; a raised limit starts waiting tasks at once. */
  public void setLimit(int newLimit) {
    if (newLimit < 1) {
      throw new IllegalArgumentException("limit must be at least 1, got " + newLimit);
    }
    while (true) {
      Runnable next;
      synchronized (this) {
        limit = newLimit;
        if (inUse >= limit || waiting.isEmpty()) {
          return;
        }
        inUse++;
        next = waiting.pollFirst();
      }
      next.run();
    }
  }

  public synchronized int limit() {
    return limit;
  }

  /** Permits held: tasks running now. */
  public synchronized int inUse() {
    return inUse;
  }

  /** Tasks queued for a permit. */
  public synchronized int waiting() {
    return waiting.size();
  }
}
