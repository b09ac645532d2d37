package io.kvw.worker.dispatch.limit;

/**
 * The fallback when the server reports no load: AIMD on latency, in the spirit of Netflix's
 * concurrency-limits. The lowest mean latency seen is the server's unloaded latency; while a
 * window's mean stays within {@code tolerance} times it, a worker with more work adds
 * {@code step}; past it (requests are queueing somewhere) or on overload errors, the limit is
 * cut by {@code backoff}. The floor slowly forgets, so a server that got faster or slower is
 * re-learned.
 *
 * <p>At most one latency cut per round trip: the latency of a window describes calls sent
 * before the last cut, so until the calls in flight at that cut have finished, more cuts would
 * only answer the same queue again. (Without this, a lone worker on a 690 ms server saw-toothed
 * between 120 and 520 and used 86 % of it; with it, 99 %; see {@code SharedServerTest}.)
 */
public final class LatencyLimit implements LimitRule {
  private final int step;
  private final double backoff;
  private final double tolerance;
  private double floorMs = Double.MAX_VALUE;
  private long windows;
  /** Calls still to finish before latency reflects the last cut. */
  private long callsBeforeNextCut;

  public LatencyLimit(int step, double backoff, double tolerance) {
    if (step < 1 || backoff <= 0 || backoff >= 1 || tolerance <= 1) {
      throw new IllegalArgumentException("need step >= 1, backoff in (0, 1), tolerance > 1");
    }
    this.step = step;
    this.backoff = backoff;
    this.tolerance = tolerance;
  }

  /** Step 8, backoff 0.8, tolerance 1.5 (latency may grow by half before the limit drops). */
  public static LatencyLimit defaults() {
    return new LatencyLimit(8, 0.8, 1.5);
  }

  @Override
  public synchronized int next(int limit, Observation o) {
    callsBeforeNextCut = Math.max(0, callsBeforeNextCut - o.calls());
    if (o.overloads() > 0) {
      callsBeforeNextCut = o.inFlight();
      return (int) Math.floor(limit * backoff);
    }
    if (o.calls() == 0) {
      return limit;
    }
    if (++windows % 600 == 0) {
      floorMs = floorMs * 1.1; // forget slowly: about 10 % a minute at 100 ms windows
    }
    floorMs = Math.min(floorMs, o.meanLatencyMs());
    if (o.meanLatencyMs() > floorMs * tolerance) {
      if (callsBeforeNextCut > 0) {
        return limit; // this queue was answered already
      }
      callsBeforeNextCut = o.inFlight();
      return (int) Math.floor(limit * backoff);
    }
    return o.limited(limit) ? limit + step : limit;
  }
}
