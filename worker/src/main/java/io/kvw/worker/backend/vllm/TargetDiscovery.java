package io.kvw.worker.backend.vllm;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a {@link TargetPool} in step with a {@link TargetResolver}: asks it every
 * {@code interval}, adds the replicas that joined, takes out the ones that left. A replica
 * that left stops getting new calls at once; its channels are shut down a moment later
 * ({@link #RETIRE_GRACE}, so a call that picked it just before cannot land on a closed
 * channel) and end when the calls on them have. A failed or empty answer keeps the last set.
 */
public final class TargetDiscovery implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(TargetDiscovery.class);
  /** Between taking a replica out of the choice and shutting down its channels. */
  static final Duration RETIRE_GRACE = Duration.ofSeconds(1);

  private final TargetPool pool;
  private final TargetResolver resolver;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
      r -> {
        Thread t = new Thread(r, "vllm-discovery");
        t.setDaemon(true);
        return t;
      });
  private volatile boolean failing;

  private TargetDiscovery(TargetPool pool, TargetResolver resolver) {
    this.pool = pool;
    this.resolver = resolver;
  }

  /** Starts refreshing {@code pool} from {@code resolver}; closing the pool stops it. */
  public static TargetDiscovery start(TargetPool pool, TargetResolver resolver,
      Duration interval) {
    TargetDiscovery d = new TargetDiscovery(pool, resolver);
    pool.closeFirst(d);
    long ms = interval.toMillis();
    d.timer.scheduleWithFixedDelay(d::refresh, ms, ms, TimeUnit.MILLISECONDS);
    return d;
  }

  /** One round: resolve, update, schedule the retirement of those that left. */
  void refresh() {
    List<String> addresses;
    try {
      addresses = resolver.resolve();
      if (addresses.isEmpty()) {
        throw new java.io.IOException("no addresses");
      }
    } catch (Exception e) {
      if (!failing) { // once per bad spell, not every interval
        log.warn("cannot resolve vLLM targets {}: {}; keeping {}", resolver, e.getMessage(),
            pool.addresses());
        failing = true;
      }
      return;
    }
    failing = false;
    try {
      List<TargetPool.Target> left = pool.update(addresses);
      if (!left.isEmpty()) {
        timer.schedule(() -> pool.retire(left), RETIRE_GRACE.toMillis(), TimeUnit.MILLISECONDS);
      }
    } catch (RuntimeException e) {
      log.warn("cannot apply vLLM targets {}: {}", addresses, e.toString());
    }
  }

  @Override
  public void close() {
    timer.shutdownNow();
  }

  @Override
  public String toString() {
    return "discovery of " + resolver;
  }
}
