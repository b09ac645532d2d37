package io.kvw.worker.dispatch;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeExecutor;
import dev.failsafe.RetryPolicy;
import dev.failsafe.RetryPolicyBuilder;
import io.kvw.common.ErrorInfo;
import io.kvw.common.ErrorType;
import io.kvw.common.InferenceRequest;
import io.kvw.common.InferenceResult;
import io.kvw.common.Timing;
import io.kvw.common.Usage;
import io.kvw.worker.admission.Admission;
import io.kvw.worker.backend.BackendAnswer;
import io.kvw.worker.backend.BackendException;
import io.kvw.worker.backend.EmbeddingCall;
import io.kvw.worker.backend.Embeddings;
import io.kvw.worker.backend.Generation;
import io.kvw.worker.backend.GenerationCall;
import io.kvw.worker.backend.InferenceBackend;
import io.kvw.worker.dispatch.limit.CallWindow;
import io.kvw.worker.intake.PolledRecord;
import io.kvw.worker.intake.RecordHandle;
import io.kvw.worker.observe.RecordLog;
import io.kvw.worker.observe.WorkerMetrics;
import io.kvw.worker.observe.trace.RecordTrace;
import io.kvw.worker.publish.OutcomePublisher;
import io.opentelemetry.context.Scope;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs admitted requests on the backend under a concurrency limit and the failure policies,
 * and hands each outcome to the publisher.
 *
 * <p>Policies (Failsafe), outermost first:
 * <ol>
 *   <li>an outage retry: UNAVAILABLE waits and tries again, without limit, with backoff. An
 *       outage is not the record's fault, so it never dead-letters (DESIGN.md, promise 5).
 *   <li>a transient retry: DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL and the like are
 *       retried with exponential backoff and jitter up to {@code maxAttempts} calls, then end
 *       as {@code retries_exhausted}.
 * </ol>
 * A record holds its permit while it backs off, so the limit bounds work in progress.
 * A first attempt starts on the thread that dispatches the record or frees its permit
 * ({@link InlineFirstScheduler}), outside the policies; only a failure they handle hands the
 * record to them (as their first execution's outcome), and only retries wait on the scheduler.
 * Before every call the request's deadline is checked (past it: {@code expired}, never sent)
 * and the call's gRPC deadline is the smaller of the timeout and the time left.
 *
 * <p>Embedding requests take the same path: one permit per request, whose attempt is the
 * backend's embedding of every input (one {@code Embed} call each, in flight together); a
 * failed attempt is retried as a whole, under the same policies.
 */
public final class Dispatcher {
  private static final Logger log = LoggerFactory.getLogger(Dispatcher.class);

  private final InferenceBackend backend;
  private final ConcurrencyLimiter limiter;
  private final RetrySettings retry;
  private final OutcomePublisher publisher;
  private final PartialSink partials;
  private final Admission admission;
  private final WorkerMetrics metrics;
  private final Clock clock;
  private final FailsafeExecutor<BackendAnswer> policies;
  private final Map<RecordHandle, Job> running = new ConcurrentHashMap<>();
  private final AtomicLong callSequence = new AtomicLong();
  /**
   * Makes backend request ids unique across restarts and replicas: vLLM refuses an id that is
   * still running, and after a crash the same record (same id) may be sent again while the
   * old call is still alive on the server.
   */
  private final String callPrefix = Long.toString(
      java.util.concurrent.ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36);
  private final BackendOutage outage;
  private final CallWindow window;
  private final InlineFirstScheduler inline;

  /** The dispatch state of one admitted record. */
  private static final class Job {
    final Admission.Admitted admitted;
    volatile int attempts;
    volatile long firstCallNanos;
    volatile String backendRequestId;
    volatile CompletableFuture<? extends BackendAnswer> currentCall;

    Job(Admission.Admitted admitted) {
      this.admitted = admitted;
    }
  }

  /** Thrown inside an attempt to stop retrying; never leaves the dispatcher. */
  private static final class Stop extends RuntimeException {
    final ErrorType type; // null: abandoned, publish nothing

    Stop(ErrorType type, String message) {
      super(message, null, false, false);
      this.type = type;
    }
  }

  public Dispatcher(InferenceBackend backend, ConcurrencyLimiter limiter, RetrySettings retry,
      OutcomePublisher publisher, PartialSink partials, Admission admission,
      WorkerMetrics metrics, Clock clock, ScheduledExecutorService scheduler,
      BackendOutage outage, CallWindow window) {
    this.backend = backend;
    this.outage = outage;
    this.window = window;
    this.limiter = limiter;
    this.retry = retry;
    this.publisher = publisher;
    this.partials = partials;
    this.admission = admission;
    this.metrics = metrics;
    this.clock = clock;
    RetryPolicy<BackendAnswer> outageRetry = backoff(RetryPolicy.<BackendAnswer>builder()
        .handleIf(e -> kindOf(e) == BackendException.Kind.UNAVAILABLE)
        .abortOn(Stop.class)
        .withMaxRetries(-1), Duration.ofMillis(200), Duration.ofSeconds(5))
        .onRetry(e -> metrics.outageRetry())
        .build();
    RetryPolicy<BackendAnswer> transientErrors = backoff(RetryPolicy.<BackendAnswer>builder()
        .handleIf(e -> kindOf(e) == BackendException.Kind.TRANSIENT)
        .abortOn(Stop.class)
        .withMaxAttempts(retry.maxAttempts()), retry.backoff(), retry.maxBackoff())
        .onRetry(e -> metrics.retried())
        .build();
    this.inline = new InlineFirstScheduler(scheduler);
    this.policies = Failsafe.with(outageRetry, transientErrors).with(inline);
  }

  private static RetryPolicyBuilder<BackendAnswer> backoff(RetryPolicyBuilder<BackendAnswer> b,
      Duration first, Duration max) {
    if (first.isZero()) {
      return b;
    }
    return b.withBackoff(first, max.compareTo(first) > 0 ? max : first.multipliedBy(2))
        .withJitter(0.25);
  }

  /** Queues a request for the backend; returns at once. */
  public void dispatch(Admission.Admitted admitted) {
    Job job = new Job(admitted);
    limiter.submit(() -> start(job));
  }

  private void start(Job job) {
    RecordHandle ticket = job.admitted.polled().handle();
    if (ticket.isAbandoned()) {
      limiter.release();
      return;
    }
    running.put(ticket, job);
    inline.execute(() -> firstAttempt(job).whenComplete((answer, failure) -> {
      if (failure != null && retried(failure)) {
        // the policies take over from the first attempt: their first execution is its
        // outcome again, so backoff, attempt counts and limits are what they would have been
        CompletableFuture<BackendAnswer> first = CompletableFuture.failedFuture(failure);
        policies.getStageAsync(ctx -> ctx.isFirstAttempt() ? first : attempt(job))
            .whenComplete((a, f) -> done(job, a, f));
      } else {
        done(job, answer, failure);
      }
    }));
  }

  /**
   * A record's first call, outside the policies: most records need no retry, and Failsafe's
   * state for one execution (its futures, an executor per policy) was about 7 % of the
   * worker's CPU and 8 % of its allocation per record with an instant backend.
   */
  private CompletableFuture<BackendAnswer> firstAttempt(Job job) {
    try {
      return attempt(job);
    } catch (RuntimeException e) { // a Stop, or a bug: ends the record as the policies would
      return CompletableFuture.failedFuture(e);
    }
  }

  /** Whether a policy handles this failure (the policies decide whether it is retried). */
  private static boolean retried(Throwable failure) {
    BackendException.Kind kind = kindOf(failure);
    return kind == BackendException.Kind.UNAVAILABLE || kind == BackendException.Kind.TRANSIENT;
  }

  private void done(Job job, BackendAnswer answer, Throwable failure) {
    running.remove(job.admitted.polled().handle());
    limiter.release();
    finish(job, answer, failure);
  }

  private CompletableFuture<BackendAnswer> attempt(Job job) {
    PolledRecord polled = job.admitted.polled();
    InferenceRequest request = job.admitted.request();
    if (polled.handle().isAbandoned()) {
      throw new Stop(null, "abandoned");
    }
    Duration timeout = retry.requestTimeout();
    Instant deadline = request.deadline();
    if (deadline != null) {
      Duration left = Duration.between(clock.instant(), deadline);
      if (left.isNegative() || left.isZero()) {
        throw new Stop(ErrorType.EXPIRED, "deadline " + deadline + " passed before the request"
            + (job.attempts == 0 ? " was sent" : " could be retried"));
      }
      if (left.compareTo(timeout) < 0) {
        timeout = left;
      }
    }
    if (job.attempts == 0) {
      job.firstCallNanos = System.nanoTime();
    }
    job.attempts++;
    job.backendRequestId = request.id() + "#" + callPrefix + "-"
        + callSequence.incrementAndGet();
    long callStart = System.nanoTime();
    RecordTrace.Call traced = polled.trace().startCall(job.backendRequestId);
    CompletableFuture<? extends BackendAnswer> f;
    try (Scope current = traced.context().makeCurrent()) { // the gRPC metadata carries it
      f = call(job, timeout);
    }
    job.currentCall = f; // the backend's own future: its cancel reaches the calls
    @SuppressWarnings("unchecked") // read only: a future of a subtype is one of the type
    CompletableFuture<BackendAnswer> answered = (CompletableFuture<BackendAnswer>) f;
    return answered.whenComplete((answer, e) -> {
      if (e == null) {
        outage.end();
        String model = admission.modelOf(request);
        if (answer instanceof Generation g) {
          metrics.generation(model, request.metadata(), g, request.params().samples());
        } else if (answer instanceof Embeddings em) {
          metrics.embedding(model, request.metadata(), em);
        }
      } else if (kindOf(e) == BackendException.Kind.UNAVAILABLE) {
        outage.reportUnavailable(callStart);
      }
      String status = e == null ? "ok" : statusOf(e);
      // the server said it is overloaded: what the adaptive limit backs off on
      window.record(System.nanoTime() - callStart, status.equals("RESOURCE_EXHAUSTED")
          || status.equals("DEADLINE_EXCEEDED"));
      metrics.call(status);
      traced.end(status);
    });
  }

  /** Starts the backend call of one attempt: a generation, or the embedding of every input. */
  private CompletableFuture<? extends BackendAnswer> call(Job job, Duration timeout) {
    PolledRecord polled = job.admitted.polled();
    InferenceRequest request = job.admitted.request();
    if (request.isEmbedding()) {
      return backend.embed(new EmbeddingCall(job.backendRequestId, request, timeout,
          job.admitted.prompt()));
    }
    return backend.generate(new GenerationCall(job.backendRequestId, request, timeout,
        request.stream() ? partial -> partials.accept(polled, request, partial) : null,
        job.admitted.prompt()));
  }

  private void finish(Job job, BackendAnswer answer, Throwable failure) {
    PolledRecord polled = job.admitted.polled();
    if (failure == null && !polled.handle().isAbandoned()) {
      // an answer is published without a log line: no log scope (its MDC puts were a
      // measurable part of the cost per record); the publisher opens one where it logs
      publishAnswer(job, answer);
      return;
    }
    try (RecordLog scope = RecordLog.open(polled, job.admitted.request().id())) {
      finishLogged(job, failure);
    }
  }

  /** The answer of a record, as its result. */
  private void publishAnswer(Job job, BackendAnswer answer) {
    PolledRecord polled = job.admitted.polled();
    InferenceRequest request = job.admitted.request();
    String model = admission.modelOf(request);
    long now = System.nanoTime();
    long queueMs = millis(job.firstCallNanos - polled.polledAtNanos());
    long totalMs = millis(now - polled.polledAtNanos());
    if (answer instanceof Embeddings e) {
      // an embedding has no first token: ttft_ms is -1, as for any unknown ttft
      publisher.publish(polled, InferenceResult.embedded(request.id(), model,
          e.embeddings(), new Usage(e.promptTokens(), 0, 0),
          new Timing(queueMs, -1, e.backendMs(), totalMs), job.attempts, request.metadata(),
          polled.source()), request.openAi());
      return;
    }
    Generation generation = (Generation) answer;
    Timing timing = new Timing(queueMs, generation.ttftMs(), generation.backendMs(), totalMs);
    publisher.publish(polled, InferenceResult.success(request.id(), model,
        generation.outputs(), generation.usage(), timing, job.attempts, request.metadata(),
        polled.source(), generation.promptLogprobs()), request.openAi());
  }

  private void finishLogged(Job job, Throwable failure) {
    PolledRecord polled = job.admitted.polled();
    InferenceRequest request = job.admitted.request();
    if (polled.handle().isAbandoned()) {
      log.debug("request {} abandoned (drain or revocation); it will be read again",
          request.id());
      polled.trace().end("abandoned");
      return;
    }
    String model = admission.modelOf(request);
    Throwable cause = unwrap(failure);
    ErrorType type;
    String message;
    if (cause instanceof Stop stop) {
      if (stop.type == null) {
        return;
      }
      type = stop.type;
      message = stop.getMessage();
    } else if (cause instanceof CancellationException) {
      return; // cancelled by a drain or a revocation: the ticket is abandoned, read again later
    } else if (cause instanceof BackendException be
        && be.kind() == BackendException.Kind.REJECTED) {
      type = ErrorType.BACKEND_REJECTED;
      message = be.status() + ": " + be.getMessage();
    } else if (cause instanceof BackendException be) {
      if (polled.handle().redeliver()) {
        log.debug("request {} ({}) handed back for another delivery after {} attempts",
            request.id(), polled.handle(), job.attempts);
        return;
      }
      type = ErrorType.RETRIES_EXHAUSTED;
      message = "gave up after " + job.attempts + " attempts; last error " + be.status() + ": "
          + be.getMessage();
    } else {
      log.error("unexpected failure dispatching request {} ({})", request.id(),
          polled.handle(), cause);
      type = ErrorType.RETRIES_EXHAUSTED;
      message = "internal error: " + cause;
    }
    publisher.publish(polled, InferenceResult.failure(request.id(), model,
        new ErrorInfo(type, message), job.attempts, request.metadata(), polled.source()),
        request.openAi());
  }

  /**
   * Cancels the running calls of abandoned records (a drain that ran out of time, or revoked
   * partitions) and asks vLLM to abort them.
   */
  public void cancel(Collection<? extends RecordHandle> abandoned) {
    List<String> ids = new ArrayList<>();
    for (RecordHandle t : abandoned) {
      Job job = running.get(t);
      if (job == null) {
        continue;
      }
      CompletableFuture<? extends BackendAnswer> call = job.currentCall;
      if (call != null && call.cancel(true) && job.backendRequestId != null) {
        ids.add(job.backendRequestId);
      }
    }
    if (!ids.isEmpty()) {
      backend.abort(ids).orTimeout(5, TimeUnit.SECONDS).exceptionally(e -> null);
    }
  }

  public ConcurrencyLimiter limiter() {
    return limiter;
  }

  private static long millis(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }

  private static Throwable unwrap(Throwable e) {
    while ((e instanceof CompletionException || e instanceof java.util.concurrent
        .ExecutionException) && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }

  private static BackendException.Kind kindOf(Throwable e) {
    return unwrap(e) instanceof BackendException be ? be.kind() : null;
  }

  private static String statusOf(Throwable e) {
    Throwable c = unwrap(e);
    if (c instanceof BackendException be) {
      return be.status();
    }
    return c instanceof CancellationException ? "CANCELLED" : c.getClass().getSimpleName();
  }
}
