package io.kvw.worker.dispatch.limit;

import io.kvw.worker.backend.BackendLoad;

/**
 * What one worker saw over the last window, the input of a {@link LimitRule}.
 *
 * @param inFlight this worker's backend calls at the end of the window
 * @param queued records of this worker waiting for a permit (demand beyond the limit)
 * @param load the server's load, or null when it does not report one
 * @param calls backend calls that finished in the window
 * @param meanLatencyMs their mean duration, or 0 without calls
 * @param overloads calls that failed because the server was overloaded (RESOURCE_EXHAUSTED,
 *     DEADLINE_EXCEEDED)
 */
public record Observation(int inFlight, int queued, BackendLoad load, int calls,
    double meanLatencyMs, int overloads) {

  /** Whether this worker had more work than its limit let through. */
  public boolean limited(int limit) {
    return queued > 0 || inFlight >= limit;
  }
}
