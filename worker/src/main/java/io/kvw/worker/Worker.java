package io.kvw.worker;

import io.kvw.common.RequestCodec;
import io.kvw.common.RequestLimits;
import io.kvw.common.ResultCodec;
import io.kvw.worker.admission.Admission;
import io.kvw.worker.backend.BackendFactory;
import io.kvw.worker.backend.InferenceBackend;
import io.kvw.worker.config.WorkerConfig;
import io.kvw.worker.dispatch.BackendOutage;
import io.kvw.worker.dispatch.ConcurrencyLimiter;
import io.kvw.worker.dispatch.Dispatcher;
import io.kvw.worker.dispatch.PartialSink;
import io.kvw.worker.dispatch.RetrySettings;
import io.kvw.worker.dispatch.limit.AdaptiveConcurrency;
import io.kvw.worker.dispatch.limit.CallWindow;
import io.kvw.worker.intake.ConsumerOffsetCommitter;
import io.kvw.worker.config.ConfigException;
import io.kvw.worker.intake.FlowControl;
import io.kvw.worker.intake.Handoff;
import io.kvw.worker.intake.Intake;
import io.kvw.worker.intake.OffsetCommitter;
import io.kvw.worker.intake.PollLoop;
import io.kvw.worker.intake.share.ShareGroupSettings;
import io.kvw.worker.intake.share.ShareIntake;
import io.kvw.worker.ledger.OffsetLedger;
import io.kvw.worker.ledger.OffsetMapCodec;
import io.kvw.worker.observe.Backlog;
import io.kvw.worker.observe.HttpEndpoint;
import io.kvw.worker.observe.TenantLabels;
import io.kvw.worker.observe.WorkerMetrics;
import io.kvw.worker.publish.OutcomeGate;
import io.kvw.worker.observe.trace.Tracing;
import io.kvw.worker.publish.OutcomePublisher;
import io.kvw.worker.publish.TransactionCycle;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One worker replica: wires intake, admission, dispatcher, backend, publisher and ledger
 * (DESIGN.md's data flow) from a {@link WorkerConfig}, runs them, and drains them on stop.
 */
public final class Worker implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(Worker.class);

  private final WorkerConfig config;
  private final InferenceBackend backend;
  private final OutcomePublisher publisher;
  private final TransactionCycle transactions;
  private final BackendOutage outage;
  private final AdaptiveConcurrency adaptive;
  private final Intake pollLoop;
  private final Thread intakeThread;
  private final ScheduledExecutorService scheduler;
  private final java.util.concurrent.ExecutorService preparation;
  private final HttpEndpoint http;
  private final PrometheusMeterRegistry registry;
  private final Tracing tracing;
  private volatile boolean closed;

  private Worker(WorkerConfig config, InferenceBackend backend, ShareGroupSettings share) {
    this.config = config;
    this.backend = backend;
    this.registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    new JvmMemoryMetrics().bindTo(registry);
    new JvmGcMetrics().bindTo(registry);
    new JvmThreadMetrics().bindTo(registry);
    new ProcessorMetrics().bindTo(registry);
    WorkerMetrics metrics = new WorkerMetrics(registry, new TenantLabels(
        config.get(WorkerConfig.METRICS_TENANT_FIELD),
        config.get(WorkerConfig.METRICS_TENANT_MAX)));
    this.scheduler = Executors.newScheduledThreadPool(1, r -> {
      Thread t = new Thread(r, "worker-scheduler");
      t.setDaemon(true);
      return t;
    });
    String workerId = config.get(WorkerConfig.WORKER_ID);
    this.tracing = Tracing.fromEnvironment(System.getenv(), workerId);
    ResultCodec resultCodec = new ResultCodec();
    int maxMapBytes = config.get(WorkerConfig.OFFSET_MAP_MAX_BYTES);
    OffsetLedger ledger = new OffsetLedger(new OffsetMapCodec(maxMapBytes), maxMapBytes);
    int maxBuffered = config.get(WorkerConfig.MAX_BUFFERED);
    int maxPollRecords = config.kafkaPassThrough().containsKey("max.poll.records")
        ? Integer.parseInt(config.kafkaPassThrough().get("max.poll.records"))
        : FlowControl.defaultMaxPollRecords(maxBuffered);
    FlowControl flow = new FlowControl(maxBuffered, maxPollRecords);
    KafkaConsumer<byte[], byte[]> consumer = share != null ? null
        : KafkaClients.consumer(config, maxPollRecords);
    KafkaProducer<byte[], byte[]> producer = KafkaClients.producer(config);
    OffsetCommitter committer;
    OutcomeGate gate;
    if (KafkaClients.exactlyOnce(config)) {
      this.transactions = new TransactionCycle(producer, consumer, ledger);
      try {
        transactions.begin();
      } catch (RuntimeException e) {
        producer.close(Duration.ZERO);
        consumer.close(Duration.ZERO);
        throw new StartupException("the transactional producer could not start ("
            + e.getMessage() + "); worker.delivery=exactly-once needs transactions on the "
            + "broker (and the ACLs for transactional ids kvw-*)", e);
      }
      committer = transactions;
      gate = transactions;
    } else {
      this.transactions = null;
      committer = share != null ? null : new ConsumerOffsetCommitter(consumer, ledger);
      gate = OutcomeGate.DIRECT;
    }
    this.publisher = new OutcomePublisher(producer, resultCodec,
        config.get(WorkerConfig.TOPIC_RESULTS), config.get(WorkerConfig.TOPIC_DLQ), workerId,
        scheduler, metrics, gate);
    RequestLimits limits = RequestLimits.defaults()
        .withMaxRecordBytes(config.get(WorkerConfig.MAX_REQUEST_BYTES));
    StartupWarmup.run(config.get(WorkerConfig.STARTUP_WARMUP), new RequestCodec(limits),
        resultCodec, backend, config.get(WorkerConfig.STARTUP_WARMUP_CALLS));
    // prompt preparation (chat template, tokens) runs beside intake, not on its thread, except
    // for a small record that came alone in its poll (Admission#admit); the pool's queue is
    // bounded by worker.max-buffered, as every record in it is an open record
    this.preparation = Executors.newFixedThreadPool(
        Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
          Thread t = new Thread(r, "prompt-preparation");
          t.setDaemon(true);
          return t;
        });
    Admission admission = new Admission(new RequestCodec(limits), backend.modelName(),
        backend.prompts(), preparation, Clock.systemUTC());
    String streamTopic = config.get(WorkerConfig.TOPIC_STREAM);
    PartialSink partials = (polled, request, partial) -> publisher.publishPartial(streamTopic,
        polled, polled.record().key() != null ? polled.record().key()
            : request.id().getBytes(StandardCharsets.UTF_8),
        resultCodec.encodePartial(request.id(), partial.index(), partial.textSoFar(),
            partial.completionTokens()));
    int maxInFlight = config.get(WorkerConfig.MAX_IN_FLIGHT);
    boolean adaptive = config.get(WorkerConfig.CONCURRENCY) == WorkerConfig.Concurrency.ADAPTIVE;
    ConcurrencyLimiter limiter = new ConcurrencyLimiter(adaptive
        ? AdaptiveConcurrency.startingLimit(backend, maxInFlight) : maxInFlight);
    CallWindow window = new CallWindow();
    RetrySettings retry = new RetrySettings(config.get(WorkerConfig.RETRY_MAX_ATTEMPTS),
        config.get(WorkerConfig.RETRY_BACKOFF), Duration.ofSeconds(5),
        config.get(WorkerConfig.VLLM_REQUEST_TIMEOUT));
    this.outage = new BackendOutage(backend, scheduler, Duration.ofMillis(200),
        Duration.ofSeconds(5));
    Dispatcher dispatcher = new Dispatcher(backend, limiter, retry, publisher, partials, admission,
        metrics, Clock.systemUTC(), scheduler, outage, window);
    this.adaptive = adaptive ? new AdaptiveConcurrency(backend, limiter, window, 1,
        maxInFlight, Duration.ofMillis(100), scheduler) : null;
    if (share != null) {
      ShareIntake shareIntake = shareIntake(config, share, new Handoff(admission, dispatcher,
          publisher, tracing), maxBuffered, metrics);
      this.pollLoop = shareIntake;
      metrics.gauge("kvw.records.open", "Records between poll and outcome", shareIntake::open);
    } else {
      this.pollLoop = new PollLoop(consumer, config.get(WorkerConfig.TOPIC_REQUESTS), ledger,
          admission, dispatcher, publisher, committer, transactions != null, flow,
          config.get(WorkerConfig.COMMIT_INTERVAL), config.get(WorkerConfig.DRAIN_TIMEOUT),
          metrics, outage::isDown, tracing, new Backlog(registry, metrics::finished,
              Duration.ofSeconds(2), Duration.ofMinutes(1)));
      metrics.gauge("kvw.records.open", "Records between poll and outcome", ledger::open);
    }
    metrics.gauge("kvw.backend.in.flight", "Backend calls in progress", limiter::inUse);
    metrics.gauge("kvw.backend.limit", "Current concurrency limit", limiter::limit);
    metrics.gauge("kvw.dispatch.waiting", "Requests waiting for a permit", limiter::waiting);
    metrics.gauge("kvw.backend.outage", "1 while vLLM is unavailable", () -> outage.isDown()
        ? 1 : 0);
    metrics.gauge("kvw.intake.paused", "1 while intake holds back", () -> pollLoop.paused()
        ? 1 : 0);
    this.intakeThread = new Thread(pollLoop, "intake");
    int port = config.get(WorkerConfig.HTTP_PORT);
    try {
      this.http = port < 0 ? null : new HttpEndpoint(port, registry, this::liveness,
          this::readiness);
    } catch (IOException e) {
      throw new UncheckedIOException("http.port " + port + ": " + e.getMessage(), e);
    }
  }

  /** The share-group intake: {@code worker.share.consumers} members, one batch each. */
  private ShareIntake shareIntake(WorkerConfig config, ShareGroupSettings share, Handoff handoff,
      int maxBuffered, WorkerMetrics metrics) {
    int consumers = config.get(WorkerConfig.SHARE_CONSUMERS);
    int batch = ShareIntake.batchFor(maxBuffered, consumers);
    String configured = config.kafkaPassThrough().get("max.poll.records");
    if (configured != null) {
      batch = Math.min(batch, Integer.parseInt(configured));
    }
    List<KafkaShareConsumer<byte[], byte[]>> members = new ArrayList<>();
    for (int i = 0; i < consumers; i++) {
      members.add(KafkaClients.shareConsumer(config, batch, i));
    }
    return new ShareIntake(members, config.get(WorkerConfig.TOPIC_REQUESTS), handoff, share,
        maxBuffered, batch, config.get(WorkerConfig.DRAIN_TIMEOUT), metrics, outage::isDown);
  }

  /**
   * Waits for Kafka and the backend (up to {@code worker.startup-timeout} each), then starts
   * consuming. Throws {@link StartupException} naming what could not be reached.
   */
  public static Worker start(WorkerConfig config, BackendFactory backends) {
    Duration startup = config.get(WorkerConfig.STARTUP_TIMEOUT);
    log.info("starting worker {} with {}", config.get(WorkerConfig.WORKER_ID),
        config.describe());
    KafkaClients.awaitBrokers(config, startup);
    ShareGroupSettings share = null;
    if (config.get(WorkerConfig.INTAKE) == WorkerConfig.IntakeMode.SHARE) {
      share = KafkaClients.shareGroup(config, startup);
      String misfit = share.misfit(config.get(WorkerConfig.VLLM_REQUEST_TIMEOUT));
      if (misfit != null) {
        throw new ConfigException(WorkerConfig.VLLM_REQUEST_TIMEOUT.name(), misfit);
      }
      log.info("share group {}: record lock {} ms (renewed: {}), delivery limit {}",
          config.get(WorkerConfig.KAFKA_GROUP), share.lockDuration().toMillis(),
          share.renewAllowed(), share.deliveryLimit());
    }
    InferenceBackend backend = backends.connect(config, startup);
    Worker worker;
    try {
      worker = new Worker(config, backend, share);
    } catch (RuntimeException e) {
      backend.close();
      throw e;
    }
    worker.intakeThread.start();
    log.info("worker {} consuming {} (model {}, {} concurrency up to {}, max buffered {})",
        config.get(WorkerConfig.WORKER_ID), config.get(WorkerConfig.TOPIC_REQUESTS),
        backend.modelName(), config.get(WorkerConfig.CONCURRENCY).name().toLowerCase(),
        config.get(WorkerConfig.MAX_IN_FLIGHT), config.get(WorkerConfig.MAX_BUFFERED));
    return worker;
  }

  private HttpEndpoint.Health liveness() {
    if (!intakeThread.isAlive() && !closed) {
      return HttpEndpoint.Health.down("intake thread stopped");
    }
    long sincePoll = System.nanoTime() - pollLoop.lastPollNanos();
    return sincePoll > TimeUnit.MINUTES.toNanos(2)
        ? HttpEndpoint.Health.down("no poll for " + TimeUnit.NANOSECONDS.toSeconds(sincePoll)
            + " s") : HttpEndpoint.Health.up();
  }

  private HttpEndpoint.Health readiness() {
    if (closed) {
      return HttpEndpoint.Health.down("stopping");
    }
    if (!pollLoop.joined()) {
      return HttpEndpoint.Health.down(config.get(WorkerConfig.INTAKE)
          == WorkerConfig.IntakeMode.SHARE ? "waiting to join the share group"
          : "waiting for partitions from the consumer group");
    }
    if (outage.isDown()) {
      return HttpEndpoint.Health.down("vLLM unavailable; records wait");
    }
    return HttpEndpoint.Health.up();
  }

  /** The port of the HTTP endpoint (useful with {@code http.port=0}), or -1 when off. */
  public int httpPort() {
    return http == null ? -1 : http.port();
  }

  public PrometheusMeterRegistry registry() {
    return registry;
  }

  /** Blocks until the worker stops (after {@link #close()} or a fatal intake error). */
  public void awaitTermination() throws InterruptedException {
    intakeThread.join();
  }

  /**
   * Drains and stops: no new records; in-flight ones finish up to the drain timeout, the rest
   * are cancelled and not committed; outcomes are flushed and offsets committed.
   */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (adaptive != null) {
      adaptive.close();
    }
    pollLoop.stop();
    try {
      Duration wait = config.get(WorkerConfig.DRAIN_TIMEOUT).plusSeconds(20);
      if (!pollLoop.awaitStopped(wait)) {
        log.warn("intake did not stop within {} s", wait.toSeconds());
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    preparation.shutdownNow();
    if (transactions != null) {
      transactions.close();
    }
    publisher.close();
    tracing.close(); // after the last outcome, so its span is exported
    backend.close();
    scheduler.shutdownNow();
    if (http != null) {
      http.close();
    }
    log.info("worker {} stopped", config.get(WorkerConfig.WORKER_ID));
  }
}
