package io.kvw.testkit.sim;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The simulator's own time on each request it answered in full: from the {@code Generate} call
 * reaching the service to its last message sent, waiting for a slot included, as vLLM would
 * count it. Latency benchmarks subtract it from what a client saw to get the client's own
 * share. Off until {@link #enable()}: a long run would otherwise keep every id.
 */
public final class ServiceTimes {
  private final Map<String, Long> nanosById = new ConcurrentHashMap<>();
  private volatile boolean enabled;

  /** Starts recording (and forgets what was recorded before). */
  public void enable() {
    nanosById.clear();
    enabled = true;
  }

  void record(String requestId, long arrivalNanos, long completedNanos) {
    if (enabled) {
      nanosById.put(requestId, completedNanos - arrivalNanos);
    }
  }

  /** Nanoseconds the simulator spent on the backend request {@code requestId}, or -1. */
  public long nanos(String requestId) {
    Long n = nanosById.get(requestId);
    return n == null ? -1 : n;
  }

  /** Removes and returns the time of {@code requestId}, or -1 when it has none. */
  public long take(String requestId) {
    Long n = nanosById.remove(requestId);
    return n == null ? -1 : n;
  }

  /** Every recorded request, by its backend request id; a copy. */
  public Map<String, Long> all() {
    return Map.copyOf(nanosById);
  }
}
