package io.kvw.worker.observe;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvw.common.InferenceResult;
import io.kvw.worker.backend.Embeddings;
import io.kvw.worker.backend.Generation;
import io.kvw.worker.intake.PolledRecord;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.DistributionSummary;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import java.time.Duration;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/**
 * The worker's meters, named {@code kvw_*} in Prometheus. One place declares them, so the
 * pipeline code says what happened ({@code outcome}, {@code retried}) rather than how it is
 * counted.
 *
 * <p>Per-request meters (tokens, time to first token, time per output token, end-to-end
 * latency) carry {@code model} and {@code tenant} labels; the histograms have fixed buckets
 * (as vLLM's own), so {@code histogram_quantile} works across replicas.
 */
public final class WorkerMetrics {
  private static final double[] TTFT_BUCKETS = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08,
      0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80};
  private static final double[] TPOT_BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
      0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5};
  private static final double[] E2E_BUCKETS = {0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
      10, 30, 60, 120, 300, 600, 1800, 3600, 7200};

  /** The meters of one (model, tenant) pair. */
  private record PerRequest(Counter promptTokens, Counter completionTokens, Timer ttft,
      Timer tpot, Timer e2e) {}

  private final TenantLabels tenants;
  /** By model, then tenant: looked up twice per record, without building a key. */
  private final ConcurrentMap<String, ConcurrentMap<String, PerRequest>> perRequest =
      new ConcurrentHashMap<>();
  private final LongAdder finished = new LongAdder();
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
  private Timer shareFetchWait;
  private Timer shareRound;

  /** Meters without tenant labels. */
  public WorkerMetrics(MeterRegistry registry) {
    this(registry, new TenantLabels("", 0));
  }

  public WorkerMetrics(MeterRegistry registry, TenantLabels tenants) {
    this.registry = registry;
    this.tenants = tenants;
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
    long timestamp = polled.record().timestamp();
    if (timestamp > 0) {
      perRequest(result.model() != null ? result.model() : "none", result.metadata()).e2e.record(
          Math.max(0, System.currentTimeMillis() - timestamp), TimeUnit.MILLISECONDS);
    }
    finished.increment();
  }

  /** Records that reached a published outcome so far (the drain rate's numerator). */
  public long finished() {
    return finished.sum();
  }

  /**
   * A backend call finished with {@code generation}: its tokens, its time to first token, and
   * its time per output token (after the first; calls of one token have none).
   */
  public void generation(String model, JsonNode metadata, Generation generation, int samples) {
    PerRequest m = perRequest(model, metadata);
    m.promptTokens.increment(generation.usage().promptTokens());
    m.completionTokens.increment(generation.usage().completionTokens());
    if (generation.ttftMs() < 0) {
      return;
    }
    m.ttft.record(generation.ttftMs(), TimeUnit.MILLISECONDS);
    int perSample = generation.usage().completionTokens() / Math.max(1, samples);
    if (perSample > 1) {
      long decodeNanos = TimeUnit.MILLISECONDS.toNanos(Math.max(0, generation.backendMs()
          - generation.ttftMs()));
      m.tpot.record(decodeNanos / (perSample - 1), TimeUnit.NANOSECONDS);
    }
  }

  /** A finished embedding: its prompt tokens (tokens in); it generates none. */
  public void embedding(String model, JsonNode metadata, Embeddings embeddings) {
    perRequest(model, metadata).promptTokens.increment(embeddings.promptTokens());
  }

  private PerRequest perRequest(String model, JsonNode metadata) {
    String tenant = tenants.of(metadata);
    return perRequest.computeIfAbsent(model, m -> new ConcurrentHashMap<>())
        .computeIfAbsent(tenant, k -> {
      Tags tags = Tags.of("model", model, "tenant", tenant);
      return new PerRequest(
          Counter.builder("kvw.prompt.tokens").description("Prompt tokens of finished backend "
              + "calls").tags(tags).register(registry),
          Counter.builder("kvw.completion.tokens").description("Tokens generated by finished "
              + "backend calls").tags(tags).register(registry),
          histogram("kvw.time.to.first.token", "From sending a call to its first token",
              TTFT_BUCKETS, tags),
          histogram("kvw.time.per.output.token", "Between output tokens after the first, per "
              + "call", TPOT_BUCKETS, tags),
          histogram("kvw.e2e.latency", "From the request record's timestamp to its published "
              + "outcome", E2E_BUCKETS, tags));
    });
  }

  private Timer histogram(String name, String description, double[] bucketSeconds,
      Tags tags) {
    Duration[] buckets = new Duration[bucketSeconds.length];
    for (int i = 0; i < buckets.length; i++) {
      buckets[i] = Duration.ofNanos((long) (bucketSeconds[i] * 1e9));
    }
    return Timer.builder(name).description(description).tags(tags)
        .serviceLevelObjectives(buckets).register(registry);
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

  /**
   * Share-group intake: a share consumer was ready to fetch (its last records acknowledged,
   * room reserved) for {@code nanos} before a poll brought records.
   */
  public synchronized void shareFetchWaited(long nanos) {
    if (shareFetchWait == null) {
      shareFetchWait = Timer.builder("kvw.share.fetch.wait").description("From a share "
          + "consumer being ready to fetch to the poll that brought records").register(registry);
    }
    shareFetchWait.record(nanos, TimeUnit.NANOSECONDS);
  }

  /**
   * Share-group intake: {@code nanos} from a poll that brought records to the acknowledgement
   * of the last of them (a share consumer in explicit mode fetches nothing in between).
   */
  public synchronized void shareRound(long nanos) {
    if (shareRound == null) {
      shareRound = Timer.builder("kvw.share.round").description("From a share consumer's poll "
          + "to the acknowledgement of the last record it returned").register(registry);
    }
    shareRound.record(nanos, TimeUnit.NANOSECONDS);
  }
}
