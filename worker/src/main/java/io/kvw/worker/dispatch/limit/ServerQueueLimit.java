package io.kvw.worker.dispatch.limit;

import io.kvw.worker.backend.BackendLoad;

/**
 * Additive increase, multiplicative decrease on vLLM's own queue ({@code GetLoads}): while the
 * server runs fewer sequences than it can and nothing waits, a worker that has more work adds
 * {@code step} to its limit each window; once requests wait beyond a small tolerance (or
 * calls fail for overload), it takes {@code backoff} off. Every worker sharing the server sees
 * the same (smoothed) queue, and equal additive steps with proportional cuts converge to equal
 * shares (Chiu and Jain's AIMD argument), so no coordination is needed. One instance per
 * worker: it keeps the smoothed queue and a short cooldown between cuts.
 *
 * <p>The tolerance lets a short queue stand: a server whose slots free up finds the next
 * request already waiting, which is what keeps it saturated. The limit saw-tooths just around
 * that point, which is what keeps the shares converging.
 */
public final class ServerQueueLimit implements LimitRule {
  private final int step;
  private final double backoff;
  private final double queueTolerance;
  /** The queue length, smoothed over a few windows: what every sharing worker agrees on. */
  private double smoothedWaiting;
  /** Windows until this worker may cut again for the same congestion episode. */
  private int cooldown;

  private ServerQueueLimit(Builder b) {
    this.step = b.step;
    this.backoff = b.backoff;
    this.queueTolerance = b.queueTolerance;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Settings with their defaults. */
  public static final class Builder {
    private int step = 8;
    private double backoff = 0.9;
    private double queueTolerance = 0.05;

    /** Added per window while the server has room; default 8. */
    public Builder step(int step) {
      if (step < 1) {
        throw new IllegalArgumentException("step must be at least 1, got " + step);
      }
      this.step = step;
      return this;
    }

    /** The limit is multiplied by this on congestion; in (0, 1), default 0.9. */
    public Builder backoff(double factor) {
      if (factor <= 0 || factor >= 1) {
        throw new IllegalArgumentException("backoff must be in (0, 1), got " + factor);
      }
      this.backoff = factor;
      return this;
    }

    /** Waiting requests tolerated, as a fraction of the server's slots; default 0.05. */
    public Builder queueTolerance(double fraction) {
      if (fraction < 0 || fraction > 1) {
        throw new IllegalArgumentException("queueTolerance must be in [0, 1], got " + fraction);
      }
      this.queueTolerance = fraction;
      return this;
    }

    public ServerQueueLimit build() {
      return new ServerQueueLimit(this);
    }
  }

  @Override
  public int next(int limit, Observation o) {
    BackendLoad load = o.load();
    if (load == null) {
      return limit;
    }
    double tolerated = Math.max(2, queueTolerance * Math.max(load.maxRunning(), 1));
    // Workers read the queue at different moments. On the raw reading, whoever looks first
    // after the queue grows cuts, the queue shrinks, and the others never see it: the cuts
    // fall on the same worker by chance and the shares drift. Smoothed over a few windows the
    // signal stays up long enough for every worker to cut once per episode (the cooldown keeps
    // it to once), which is what makes the shares converge.
    smoothedWaiting = 0.7 * smoothedWaiting + 0.3 * load.waiting();
    cooldown = Math.max(0, cooldown - 1);
    boolean congested = smoothedWaiting > tolerated;
    boolean flooded = smoothedWaiting > 4 * tolerated;
    if (o.overloads() > 0 || congested && (cooldown == 0 || flooded)) {
      cooldown = 5;
      return (int) Math.floor(limit * backoff);
    }
    // no "hold" band: below the tolerance workers keep probing, so episodes keep coming and
    // keep evening out the shares
    return !congested && o.limited(limit) ? limit + step : limit;
  }
}
