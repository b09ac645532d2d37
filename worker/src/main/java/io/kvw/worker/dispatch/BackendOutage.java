package io.kvw.worker.dispatch;

import io.kvw.worker.backend.InferenceBackend;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Knows whether the backend is in an outage (DESIGN.md, promise 5). A call that finds it
 * unavailable opens an outage; from then on the backend's {@code HealthCheck} is probed with
 * exponential backoff, and the first healthy answer ends it. While it lasts, intake pauses its
 * partitions (records wait in Kafka, not in the worker), readiness reports not-ready, and
 * in-flight records keep retrying; none of them is dead-lettered.
 */
public final class BackendOutage {
  private static final Logger log = LoggerFactory.getLogger(BackendOutage.class);

  private final InferenceBackend backend;
  private final ScheduledExecutorService scheduler;
  private final Duration firstProbe;
  private final Duration maxProbe;
  private final AtomicBoolean down = new AtomicBoolean();
  private volatile long downSinceNanos;
  private volatile long upSinceNanos = System.nanoTime();

  public BackendOutage(InferenceBackend backend, ScheduledExecutorService scheduler,
      Duration firstProbe, Duration maxProbe) {
    this.backend = backend;
    this.scheduler = scheduler;
    this.firstProbe = firstProbe;
    this.maxProbe = maxProbe;
  }

  /**
   * A call found the backend unavailable. Starts probing if no outage was open. A call that
   * started before the last outage ended reports old news and is ignored, so late failures
   * do not reopen an outage that is over.
   */
  public void reportUnavailable(long callStartNanos) {
    if (callStartNanos - upSinceNanos < 0) {
      return;
    }
    if (down.compareAndSet(false, true)) {
      downSinceNanos = System.nanoTime();
      log.warn("vLLM is unavailable: intake pauses, in-flight records are retried, nothing "
          + "goes to the DLQ; probing its health");
      probe(firstProbe);
    }
  }

  private void probe(Duration delay) {
    scheduler.schedule(() -> backend.healthy().whenComplete((healthy, e) -> {
      if (Boolean.TRUE.equals(healthy)) {
        end();
      } else {
        long next = Math.min(delay.toMillis() * 2, maxProbe.toMillis());
        probe(Duration.ofMillis(next));
      }
    }), delay.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** A call or a probe succeeded: the outage, if any, is over. */
  public void end() {
    if (down.compareAndSet(true, false)) {
      upSinceNanos = System.nanoTime();
      log.info("vLLM is available again after {} ms; intake resumes",
          TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - downSinceNanos));
    }
  }

  /** True while an outage is open. */
  public boolean isDown() {
    return down.get();
  }
}
