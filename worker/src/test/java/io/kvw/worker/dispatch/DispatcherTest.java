package io.kvw.worker.dispatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.kvw.common.ErrorType;
import io.kvw.common.InferenceRequest;
import io.kvw.common.InferenceResult;
import io.kvw.common.Output;
import io.kvw.common.RequestCodec;
import io.kvw.common.RequestLimits;
import io.kvw.common.ResultCodec;
import io.kvw.common.SamplingParams;
import io.kvw.common.Usage;
import io.kvw.worker.admission.Admission;
import io.kvw.worker.backend.BackendException;
import io.kvw.worker.backend.Generation;
import io.kvw.worker.backend.GenerationCall;
import io.kvw.worker.backend.InferenceBackend;
import io.kvw.worker.intake.PolledRecord;
import io.kvw.worker.ledger.OffsetLedger;
import io.kvw.worker.ledger.OffsetTicket;
import io.kvw.worker.observe.WorkerMetrics;
import io.kvw.worker.publish.OutcomePublisher;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Deque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.Supplier;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The dispatcher's failure policies, against a scripted backend and a mock producer. */
class DispatcherTest {
  private final ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2);
  private final MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null,
      new ByteArraySerializer(), new ByteArraySerializer());
  private final ResultCodec codec = new ResultCodec();
  private final OffsetLedger ledger = new OffsetLedger();
  private long offset;

  /** Answers each call with the next scripted outcome. */
  static final class ScriptedBackend implements InferenceBackend {
    final Deque<Supplier<CompletableFuture<Generation>>> script = new ArrayDeque<>();
    final List<GenerationCall> calls = new CopyOnWriteArrayList<>();
    final List<Thread> callingThreads = new CopyOnWriteArrayList<>();

    ScriptedBackend then(Supplier<CompletableFuture<Generation>> outcome) {
      script.add(outcome);
      return this;
    }

    ScriptedBackend fail(BackendException.Kind kind, String status, int times) {
      for (int i = 0; i < times; i++) {
        then(() -> CompletableFuture.failedFuture(new BackendException(kind, status, "x",
            null)));
      }
      return this;
    }

    ScriptedBackend succeed() {
      return then(() -> CompletableFuture.completedFuture(new Generation(List.of(
          new Output(0, "done", "stop")), new Usage(1, 1, 0), 1, 2)));
    }

    @Override
    public synchronized CompletableFuture<Generation> generate(GenerationCall call) {
      calls.add(call);
      callingThreads.add(Thread.currentThread());
      Supplier<CompletableFuture<Generation>> next = script.poll();
      return next == null ? new CompletableFuture<>() : next.get();
    }

    @Override
    public CompletableFuture<Boolean> healthy() {
      return CompletableFuture.completedFuture(true);
    }

    @Override
    public CompletableFuture<Void> abort(Collection<String> ids) {
      return CompletableFuture.completedFuture(null);
    }

    @Override
    public String modelName() {
      return "m";
    }

    @Override
    public void close() {}
  }

  @AfterEach
  void stop() {
    scheduler.shutdownNow();
  }

  private Dispatcher dispatcher(InferenceBackend backend, int maxAttempts) {
    WorkerMetrics metrics = new WorkerMetrics(new SimpleMeterRegistry());
    OutcomePublisher publisher = new OutcomePublisher(producer, codec, "results", "dlq", "w",
        scheduler, metrics);
    Admission admission = new Admission(new RequestCodec(RequestLimits.defaults()), "m",
        Clock.systemUTC());
    return new Dispatcher(backend, new ConcurrencyLimiter(4), new RetrySettings(maxAttempts,
        Duration.ofMillis(1), Duration.ofMillis(5), Duration.ofSeconds(5)), publisher,
        (p, r, o) -> { }, admission, metrics, Clock.systemUTC(), scheduler,
        new BackendOutage(backend, scheduler, Duration.ofMillis(10), Duration.ofMillis(50)),
        new io.kvw.worker.dispatch.limit.CallWindow());
  }

  private OffsetTicket dispatch(Dispatcher d, Instant deadline) {
    TopicPartition tp = new TopicPartition("requests", 0);
    OffsetTicket ticket = ledger.track(tp, offset);
    ConsumerRecord<byte[], byte[]> record = new ConsumerRecord<>("requests", 0, offset++, null,
        "{}".getBytes());
    InferenceRequest request = new InferenceRequest("id-" + ticket.offset(), null, "p", null,
        SamplingParams.DEFAULTS, deadline, false, null);
    d.dispatch(new Admission.Admitted(new PolledRecord(record, ticket, System.nanoTime()),
        request));
    return ticket;
  }

  private InferenceResult onlyResult() {
    List<InferenceResult> results = producer.history().stream()
        .filter(r -> r.topic().equals("results")).map(r -> codec.decode(r.value())).toList();
    assertThat(results).hasSize(1);
    return results.get(0);
  }

  private long dlqCount() {
    return producer.history().stream().filter(r -> r.topic().equals("dlq")).count();
  }

  @Test
  void transientErrorsAreRetriedAndTheAttemptsCounted() {
    ScriptedBackend backend = new ScriptedBackend()
        .fail(BackendException.Kind.TRANSIENT, "INTERNAL", 2).succeed();
    OffsetTicket t = dispatch(dispatcher(backend, 3), null);
    await().until(t::isCompleted);
    assertThat(onlyResult().attempts()).isEqualTo(3);
    assertThat(onlyResult().isError()).isFalse();
    assertThat(dlqCount()).isZero();
  }

  @Test
  void afterTheLastAttemptTheRecordEndsAsRetriesExhaustedOnTheDlq() {
    ScriptedBackend backend = new ScriptedBackend()
        .fail(BackendException.Kind.TRANSIENT, "DEADLINE_EXCEEDED", 3);
    OffsetTicket t = dispatch(dispatcher(backend, 3), null);
    await().until(t::isCompleted);
    assertThat(onlyResult().error().type()).isEqualTo(ErrorType.RETRIES_EXHAUSTED);
    assertThat(onlyResult().attempts()).isEqualTo(3);
    assertThat(dlqCount()).isEqualTo(1);
  }

  @Test
  void aRejectedRequestIsNotRetried() {
    ScriptedBackend backend = new ScriptedBackend()
        .fail(BackendException.Kind.REJECTED, "INVALID_ARGUMENT", 1).succeed();
    OffsetTicket t = dispatch(dispatcher(backend, 3), null);
    await().until(t::isCompleted);
    assertThat(onlyResult().error().type()).isEqualTo(ErrorType.BACKEND_REJECTED);
    assertThat(backend.calls).hasSize(1);
  }

  @Test
  void anOutageIsWaitedOutAndDoesNotUseUpTheTransientAttempts() {
    ScriptedBackend backend = new ScriptedBackend()
        .fail(BackendException.Kind.UNAVAILABLE, "UNAVAILABLE", 6)
        .fail(BackendException.Kind.TRANSIENT, "INTERNAL", 1).succeed();
    Dispatcher d = dispatcher(backend, 2);
    OffsetTicket t = dispatch(d, null);
    await().atMost(Duration.ofSeconds(30)).until(t::isCompleted);
    assertThat(onlyResult().isError()).isFalse();
    assertThat(onlyResult().attempts()).isEqualTo(8);
    assertThat(dlqCount()).isZero();
  }

  @Test
  void aRetryAfterAFailedFirstCallStillWaitsItsBackoff() {
    // the first call runs outside the retry policies; when it fails, they take over and must
    // still wait their first backoff (an outage's: 200 ms, jitter 25 %) before the second call
    List<Long> callNanos = new CopyOnWriteArrayList<>();
    ScriptedBackend backend = new ScriptedBackend().then(() -> {
      callNanos.add(System.nanoTime());
      return CompletableFuture.failedFuture(new BackendException(
          BackendException.Kind.UNAVAILABLE, "UNAVAILABLE", "x", null));
    }).then(() -> {
      callNanos.add(System.nanoTime());
      return CompletableFuture.completedFuture(new Generation(List.of(
          new Output(0, "done", "stop")), new Usage(1, 1, 0), 1, 2));
    });
    OffsetTicket t = dispatch(dispatcher(backend, 3), null);
    await().until(t::isCompleted);
    assertThat(callNanos.get(1) - callNanos.get(0))
        .isGreaterThanOrEqualTo(Duration.ofMillis(150).toNanos());
    assertThat(backend.calls).hasSize(2);
    assertThat(onlyResult().attempts()).isEqualTo(2);
    assertThat(onlyResult().isError()).isFalse();
  }

  @Test
  void anExpiredRequestIsNeverSent() {
    ScriptedBackend backend = new ScriptedBackend().succeed();
    OffsetTicket t = dispatch(dispatcher(backend, 3), Instant.now().minusSeconds(1));
    await().until(t::isCompleted);
    assertThat(onlyResult().error().type()).isEqualTo(ErrorType.EXPIRED);
    assertThat(backend.calls).isEmpty();
  }

  @Test
  void theCallDeadlineIsTheTimeTheRequestHasLeft() {
    ScriptedBackend backend = new ScriptedBackend().succeed();
    OffsetTicket t = dispatch(dispatcher(backend, 3), Instant.now().plusMillis(800));
    await().until(t::isCompleted);
    assertThat(backend.calls.get(0).timeout()).isLessThanOrEqualTo(Duration.ofMillis(800))
        .isPositive();
  }

  @Test
  void abandonedRecordsAreCancelledAndPublishNothing() {
    ScriptedBackend backend = new ScriptedBackend(); // never answers
    Dispatcher d = dispatcher(backend, 3);
    OffsetTicket t = dispatch(d, null);
    await().until(() -> backend.calls.size() == 1);
    List<OffsetTicket> abandoned = ledger.abandonAll();
    d.cancel(abandoned);
    await().until(() -> d.limiter().inUse() == 0);
    assertThat(t.isAbandoned()).isTrue();
    assertThat(producer.history()).isEmpty();
  }

  @Test
  void aCallStartsOnTheThreadThatDispatchesItNotOnTheScheduler() {
    ScriptedBackend backend = new ScriptedBackend().succeed();
    OffsetTicket t = dispatch(dispatcher(backend, 3), null);
    await().until(t::isCompleted);
    assertThat(backend.callingThreads).containsExactly(Thread.currentThread());
  }

  @Test
  void aRunOfQueuedCallsThatFailAtOnceEndsEveryRecord() {
    // four calls hold the four permits; thousands queue behind them and fail at once when
    // started, each freeing the permit for the next from inside its own failure
    List<CompletableFuture<Generation>> held = new CopyOnWriteArrayList<>();
    ScriptedBackend backend = new ScriptedBackend();
    for (int i = 0; i < 4; i++) {
      backend.then(() -> {
        CompletableFuture<Generation> f = new CompletableFuture<>();
        held.add(f);
        return f;
      });
    }
    int failing = 1_000;
    backend.fail(BackendException.Kind.REJECTED, "INVALID_ARGUMENT", failing);
    Dispatcher d = dispatcher(backend, 3);
    for (int i = 0; i < 4 + failing; i++) {
      dispatch(d, null);
    }
    assertThat(d.limiter().waiting()).isEqualTo(failing);
    held.get(0).completeExceptionally(new BackendException(BackendException.Kind.REJECTED,
        "INVALID_ARGUMENT", "x", null));
    await().atMost(Duration.ofSeconds(30)).until(() -> dlqCount() == failing + 1);
    assertThat(d.limiter().inUse()).isEqualTo(3);
  }
}
