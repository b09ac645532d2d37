package io.kvw.worker.dispatch.limit;

import io.kvw.worker.backend.BackendLoad;

/**
 * Sizes a worker's limit from vLLM's own load ({@code GetLoads}) as its share of what the server
 * can run. Each window a worker with work to spare sets
 *
 * <pre>
 *   limit = inFlight × target / outstanding + step
 * </pre>
 *
 * where {@code outstanding} is the server's running plus waiting requests (every worker's) and
 * {@code target} is what it can run at once ({@code max_num_seqs}, or fewer while requests
 * wait, say for KV cache) plus a short queue that keeps its slots refilled. It is the shape of
 * Netflix's gradient limit, {@code limit × gradient + queue}, with the server's own count as
 * the gradient.
 *
 * <p>Why this shape, and not AIMD on the queue: every worker scales by the same factor, which
 * keeps the ratios between them, and adds the same step, which shrinks those ratios towards
 * one; the fixed point is equal limits whose sum is {@code target + workers × step}. It does
 * so every window, from readings taken at any moment, so it needs no agreement on when a
 * congestion episode began, which is what AIMD's fairness rests on and what workers that read
 * the queue at different moments do not have. Scaling the calls in flight, not the limit,
 * keeps a cut from compounding while the server drains the calls it already holds.
 */
public final class ServerShareLimit implements LimitRule {
  /** Calls in transit counted, relative to what the server holds; bounds growth per window. */
  private static final double TRANSIT_ALLOWANCE = 1.25;
  private final int step;
  private final double backoff;
  private final double queueAllowance;

  private ServerShareLimit(Builder b) {
    this.step = b.step;
    this.backoff = b.backoff;
    this.queueAllowance = b.queueAllowance;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Settings with their defaults. */
  public static final class Builder {
    private int step = 4;
    private double backoff = 0.9;
    private double queueAllowance = 0.05;

    /**
     * Added to each worker's share every window; default 4. It is what evens shares out (a
     * larger step is faster) and what each worker adds to the server's queue.
     */
    public Builder step(int step) {
      if (step < 1) {
        throw new IllegalArgumentException("step must be at least 1, got " + step);
      }
      this.step = step;
      return this;
    }

    /** The limit is multiplied by this when calls fail for overload; in (0, 1), default 0.9. */
    public Builder backoff(double factor) {
      if (factor <= 0 || factor >= 1) {
        throw new IllegalArgumentException("backoff must be in (0, 1), got " + factor);
      }
      this.backoff = factor;
      return this;
    }

    /** Waiting requests aimed for, as a fraction of the server's slots; default 0.05. */
    public Builder queueAllowance(double fraction) {
      if (fraction < 0 || fraction > 1) {
        throw new IllegalArgumentException("queueAllowance must be in [0, 1], got " + fraction);
      }
      this.queueAllowance = fraction;
      return this;
    }

    public ServerShareLimit build() {
      return new ServerShareLimit(this);
    }
  }

  @Override
  public int next(int limit, Observation o) {
    BackendLoad load = o.load();
    if (load == null) {
      return limit;
    }
    if (o.overloads() > 0) {
      return (int) Math.floor(limit * backoff);
    }
    int outstanding = load.running() + load.waiting();
    int slots = load.maxRunning() > 0 ? load.maxRunning() : load.running();
    if (load.waiting() > 0 && load.running() > 0) {
      // requests wait while slots look free: the server is short of something else (KV cache)
      slots = Math.min(slots, load.running());
    }
    if (outstanding == 0 || slots == 0) {
      // nothing of anyone's on the server: nothing to scale, so probe
      return o.limited(limit) ? limit + step : limit;
    }
    double target = slots + Math.max(2, queueAllowance * slots);
    // calls of this worker still on their way (sent but not yet on the server, or answered but
    // not yet back) count too: leaving them out makes a lone worker aim at the target minus its
    // calls in transit, and the slots those calls would fill idle. A reading where most of
    // this worker's calls are missing from the server (a stale or restarted server) must not
    // blow the limit up, so they count as at most a quarter more than the server holds.
    double mine = Math.min(o.inFlight(), outstanding * TRANSIT_ALLOWANCE);
    int share = (int) Math.round(mine * target / outstanding) + step;
    int free = slots - outstanding;
    if (free > 0 && load.waiting() == 0) {
      // the server has idle slots and nothing queued: no reason to cut. If this worker is out
      // of permits all the same, its calls spend long on the way (a cold JVM, a distant
      // server), and the allowance above would hold it below what the server can take, so it
      // grows by half the idle slots: workers that see the same reading together overshoot by
      // at most the server's short queue, which the next window scales back.
      share = Math.max(share, o.limited(limit) ? limit + Math.max(step, free / 2) : limit);
    }
    // a worker without a backlog keeps its limit where it is: its demand, not the server,
    // holds it back, and growing the limit it does not use would only mislead
    return o.limited(limit) ? share : Math.min(limit, share);
  }
}
