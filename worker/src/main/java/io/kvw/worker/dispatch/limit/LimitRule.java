package io.kvw.worker.dispatch.limit;

/**
 * Computes a worker's next concurrency limit from the current one and the last window's
 * {@link Observation}. Rules know nothing of clocks, threads or transports, so tests drive
 * them with a simulated server, window by window.
 */
public interface LimitRule {
  int next(int limit, Observation o);
}
