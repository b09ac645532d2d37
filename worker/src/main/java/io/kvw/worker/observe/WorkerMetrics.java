package io.kvw.worker.observe;

import io.kvw.common.InferenceResult;
import io.kvw.worker.intake.PolledRecord;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.function.Supplier;

/**
 * The worker's meters, named {@code kvw_*} in Prometheus. One place declares them, so the
 * pipeline code says what happened ({@code outcome}, {@code retried}) rather than how it is
 * counted.
 */
public final class WorkerMetrics {
  private final MeterRegistry registry;
  private final Counter polled;
  private final Counter polls;
  private final Counter retries;
  private final Counter outageRetries;
  private final Counter publishFailures;
  private final Counter skippedFinished;
  private final Timer total;
  private final DistributionSummary attempts;
  private final ConcurrentMap<String, Counter> outcomes = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, Counter> calls = new ConcurrentHashMap<>();
  private final ConcurrentMap<String, Counter> acknowledgements = new ConcurrentHashMap<>();

  public WorkerMetrics(MeterRegistry registry) {
    this.registry = registry;
    this.polled = Counter.builder("kvw.records.polled")
        .description("Request records read from Kafka").register(registry);
    this.polls = Counter.builder("kvw.intake.polls")
        .description("Consumer polls made by the intake thread").register(registry);
    this.retries = Counter.builder("kvw.backend.retries")
        .description("Backend calls retried after a transient error").register(registry);
    this.outageRetries = Counter.builder("kvw.backend.outage.retries")
        .description("Backend calls retried because vLLM was unavailable").register(registry);
    this.publishFailures = Counter.builder("kvw.publish.failures")
        .description("Outcome sends that failed (sent again, or redone after an abort)")
        .register(registry);
    this.skippedFinished = Counter.builder("kvw.records.skipped.finished")
        .description("Records read again but not run: the offset map marks them finished")
        .register(registry);
    this.total = Timer.builder("kvw.request.duration")
        .description("From poll to published outcome").publishPercentiles(0.5, 0.99)
        .register(registry);
    this.attempts = DistributionSummary.builder("kvw.request.attempts")
        .description("Backend calls per finished record").register(registry);
  }

  public MeterRegistry registry() {
    return registry;
  }

  /** Registers a gauge read on scrape (buffered records, in-flight calls, the limit, ...). */
  public void gauge(String name, String description, Supplier<Number> value) {
    io.micrometer.core.instrument.Gauge.builder(name, value).description(description)
        .register(registry);
  }

  /** One poll returned {@code n} records. */
  public void polled(int n) {
    polls.increment();
    if (n > 0) {
      polled.increment(n);
    }
  }

  /** A record reached its published outcome. */
  public void outcome(InferenceResult result, PolledRecord polled) {
    String type = result.isError() ? result.error().type().wireName() : "ok";
    outcomes.computeIfAbsent(type, t -> Counter.builder("kvw.outcomes")
        .description("Records finished, by outcome (ok or the error type)").tag("outcome", t)
        .register(registry)).increment();
    total.record(Duration.ofNanos(System.nanoTime() - polled.polledAtNanos()));
    attempts.record(result.attempts());
  }

  /** A backend call ended with this status ("ok" or a gRPC code name). */
  public void call(String status) {
    calls.computeIfAbsent(status, s -> Counter.builder("kvw.backend.calls")
        .description("Backend calls, by gRPC status").tag("status", s).register(registry))
        .increment();
  }

  public void retried() {
    retries.increment();
  }

  public void outageRetry() {
    outageRetries.increment();
  }

  public void publishFailed() {
    publishFailures.increment();
  }

  /** A record read again was skipped: the last commit's offset map marks it finished. */
  public void skippedFinished() {
    skippedFinished.increment();
  }

  /**
   * Share-group intake: {@code n} records acknowledged to the broker as {@code type}
   * ({@code accept}, {@code release}, {@code renew}).
   */
  public void acknowledged(String type, int n) {
    acknowledgements.computeIfAbsent(type, t -> Counter.builder("kvw.share.acknowledgements")
        .description("Share-group acknowledgements sent, by type").tag("type", t)
        .register(registry)).increment(n);
  }

  /** Share-group intake: acknowledgements of {@code n} records the broker did not take. */
  public void acknowledgementFailed(int n) {
    acknowledgements.computeIfAbsent("failed", t -> Counter.builder(
        "kvw.share.acknowledgement.failures").description("Share-group acknowledgements the "
        + "broker refused (the lock had passed; the record is delivered again)")
        .register(registry)).increment(n);
  }
}
