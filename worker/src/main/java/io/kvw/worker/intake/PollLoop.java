package io.kvw.worker.intake;

import io.kvw.worker.admission.Admission;
import io.kvw.worker.dispatch.Dispatcher;
import io.kvw.worker.ledger.OffsetLedger;
import io.kvw.worker.ledger.OffsetTicket;
import io.kvw.worker.observe.Backlog;
import io.kvw.worker.observe.RecordLog;
import io.kvw.worker.observe.WorkerMetrics;
import io.kvw.worker.observe.trace.Tracing;
import io.kvw.common.ErrorInfo;
import io.kvw.common.ErrorType;
import io.kvw.common.InferenceResult;
import io.kvw.worker.publish.OutcomePublisher;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The intake: the one thread that owns the {@link Consumer}. Poll, pause/resume, commit and
 * the rebalance callbacks all happen here and nowhere else (the consumer is not thread-safe).
 *
 * <p>Each iteration: poll; track every record in the ledger and admit it (valid requests go to
 * the dispatcher, refusals straight to the publisher); pause or resume by the flow control;
 * commit, at most once per commit interval, what the ledger says is safe. During a backend
 * outage ({@code holdIntake}) intake pauses too, so records wait in Kafka, not in memory.
 *
 * <p>Stopping (SIGTERM) drains: intake pauses everything and keeps polling until the open
 * records finish or the drain timeout passes; what is left is abandoned (cancelled, never
 * committed) and the completed prefix is committed synchronously. Revocation does the same for
 * the revoked partitions only.
 */
public final class PollLoop implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(PollLoop.class);
  private static final Duration POLL_TIMEOUT = Duration.ofMillis(100);

  private final Consumer<byte[], byte[]> consumer;
  private final String topic;
  private final OffsetLedger ledger;
  private final Admission admission;
  private final Dispatcher dispatcher;
  private final OutcomePublisher publisher;
  private final FlowControl flow;
  private final Duration commitInterval;
  private final Duration drainTimeout;
  private final WorkerMetrics metrics;
  private final BooleanSupplier holdIntake;
  private final Tracing tracing;
  private final Backlog backlog;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile boolean stopping;
  private volatile boolean paused;
  private volatile long lastPollNanos = System.nanoTime();
  private volatile boolean assignedOnce;
  private long lastCommitNanos = System.nanoTime();

  public PollLoop(Consumer<byte[], byte[]> consumer, String topic, OffsetLedger ledger,
      Admission admission, Dispatcher dispatcher, OutcomePublisher publisher, FlowControl flow,
      Duration commitInterval, Duration drainTimeout, WorkerMetrics metrics,
      BooleanSupplier holdIntake, Tracing tracing, Backlog backlog) {
    this.consumer = consumer;
    this.topic = topic;
    this.ledger = ledger;
    this.admission = admission;
    this.dispatcher = dispatcher;
    this.publisher = publisher;
    this.flow = flow;
    this.commitInterval = commitInterval;
    this.drainTimeout = drainTimeout;
    this.metrics = metrics;
    this.holdIntake = holdIntake;
    this.tracing = tracing;
    this.backlog = backlog;
  }

  @Override
  public void run() {
    try {
      consumer.subscribe(List.of(topic), new Rebalance());
      while (!stopping) {
        pollOnce();
      }
      drain();
    } catch (WakeupException e) {
      if (!stopping) {
        throw e;
      }
      drain();
    } catch (RuntimeException e) {
      log.error("intake stopped by an unexpected error; uncommitted records will be read again",
          e);
      throw e;
    } finally {
      try {
        consumer.close(Duration.ofSeconds(5));
      } finally {
        stopped.countDown();
      }
    }
  }

  private void pollOnce() {
    applyFlowControl();
    ConsumerRecords<byte[], byte[]> records = consumer.poll(POLL_TIMEOUT);
    lastPollNanos = System.nanoTime();
    metrics.polled(records.count());
    if (!records.isEmpty()) {
      for (ConsumerRecord<byte[], byte[]> record : records) {
        admit(record);
      }
    }
    if (System.nanoTime() - lastCommitNanos >= commitInterval.toNanos()) {
      commitAsync();
    }
    backlog.maybeRefresh(consumer, ledger::open);
  }

  private void admit(ConsumerRecord<byte[], byte[]> record) {
    TopicPartition tp = new TopicPartition(record.topic(), record.partition());
    OffsetTicket ticket = ledger.track(tp, record.offset());
    PolledRecord polled = new PolledRecord(record, ticket, System.nanoTime(),
        tracing.start(record));
    try (RecordLog scope = RecordLog.open(polled, polled.source().defaultRequestId())) {
      admit(polled, scope);
    }
  }

  private void admit(PolledRecord polled, RecordLog scope) {
    OffsetTicket ticket = polled.ticket();
    Admission.Verdict verdict;
    try {
      verdict = admission.admit(polled);
    } catch (RuntimeException e) {
      // a bug in admission must not lose the record or stop intake: refuse it, loudly
      log.error("admission failed on {}; refusing the record", ticket, e);
      verdict = new Admission.Refused(polled, polled.source().defaultRequestId(), null, null,
          ErrorType.INVALID_REQUEST, "the worker could not read this record: "
              + e.getClass().getSimpleName());
    }
    if (verdict instanceof Admission.Admitted admitted) {
      scope.requestId(admitted.request().id());
      log.debug("request {} admitted", admitted.request().id());
      dispatcher.dispatch(admitted);
    } else {
      Admission.Refused r = (Admission.Refused) verdict;
      scope.requestId(r.requestId());
      publisher.publish(polled, InferenceResult.failure(r.requestId(), r.model(),
          new ErrorInfo(r.type(), r.message()), 0, r.metadata(), polled.source()));
    }
  }

  /** Pauses when the buffer is full or the backend is in an outage; resumes when neither. */
  private void applyFlowControl() {
    boolean mayPoll = !holdIntake.getAsBoolean() && flow.mayPoll(ledger.open(), paused);
    if (paused && mayPoll) {
      consumer.resume(consumer.assignment());
      paused = false;
    } else if (!paused && !mayPoll) {
      consumer.pause(consumer.assignment());
      paused = true;
    }
  }

  private void commitAsync() {
    lastCommitNanos = System.nanoTime();
    Map<TopicPartition, OffsetAndMetadata> offsets = ledger.committable();
    if (offsets.isEmpty()) {
      return;
    }
    consumer.commitAsync(offsets, (committed, e) -> {
      if (e == null) {
        ledger.committed(committed);
      } else {
        log.warn("offset commit failed ({}); it is retried with the next one", e.toString());
      }
    });
  }

  /** Commits, synchronously, what is safe for {@code tps} (all partitions when null). */
  private void commitSync(Collection<TopicPartition> tps) {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>(ledger.committable());
    if (tps != null) {
      offsets.keySet().retainAll(tps);
    }
    if (offsets.isEmpty()) {
      return;
    }
    try {
      consumer.commitSync(offsets, Duration.ofSeconds(10));
      ledger.committed(offsets);
      log.info("committed {}", describe(offsets));
    } catch (RuntimeException e) {
      log.warn("final offset commit failed ({}); those records will be read again",
          e.toString());
    }
  }

  private void drain() {
    log.info("draining: {} records open, up to {} ms", ledger.open(), drainTimeout.toMillis());
    consumer.pause(consumer.assignment());
    paused = true;
    long deadline = System.nanoTime() + drainTimeout.toNanos();
    while (ledger.open() > 0 && System.nanoTime() < deadline) {
      consumer.poll(Duration.ofMillis(50)); // paused: keeps membership, returns nothing
      if (System.nanoTime() - lastCommitNanos >= commitInterval.toNanos()) {
        commitAsync();
      }
    }
    List<OffsetTicket> abandoned = ledger.abandonAll();
    if (!abandoned.isEmpty()) {
      log.warn("drain timeout: {} records unfinished; cancelled, not committed, read again "
          + "on the next start", abandoned.size());
      dispatcher.cancel(abandoned);
    }
    commitSync(null);
  }

  /** Asks the loop to drain and stop; returns at once. */
  public void stop() {
    stopping = true;
    consumer.wakeup();
  }

  /** Waits for the loop to finish its drain. */
  public boolean awaitStopped(Duration timeout) throws InterruptedException {
    return stopped.await(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  /** Nanotime of the latest poll, for liveness. */
  public long lastPollNanos() {
    return lastPollNanos;
  }

  /** Whether intake holds back because the buffer is full. */
  public boolean paused() {
    return paused;
  }

  /** Whether the group has assigned partitions to this worker at least once. */
  public boolean joined() {
    return assignedOnce;
  }

  private static String describe(Map<TopicPartition, OffsetAndMetadata> offsets) {
    StringBuilder b = new StringBuilder();
    offsets.forEach((tp, om) -> b.append(tp).append('=').append(om.offset()).append(' '));
    return b.toString().trim();
  }

  /** Revocation: finish or abandon the revoked partitions' records, commit, let go. */
  private final class Rebalance implements ConsumerRebalanceListener {
    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> revoked) {
      if (revoked.isEmpty()) {
        return;
      }
      long deadline = System.nanoTime() + drainTimeout.toNanos();
      while (ledger.open(revoked) > 0 && System.nanoTime() < deadline) {
        try {
          Thread.sleep(5); // outcomes complete on other threads; polling is not allowed here
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          break;
        }
      }
      commitSync(revoked);
      List<OffsetTicket> abandoned = ledger.release(revoked);
      if (!abandoned.isEmpty()) {
        log.warn("revoked {} with {} records unfinished; they are cancelled and left to the "
            + "next owner", revoked, abandoned.size());
        dispatcher.cancel(abandoned);
      }
      log.info("partitions revoked: {}", revoked);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> lost) {
      List<OffsetTicket> abandoned = ledger.release(lost);
      dispatcher.cancel(abandoned);
      log.warn("partitions lost: {} ({} records unfinished, not committed)", lost,
          abandoned.size());
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> assigned) {
      assignedOnce = true;
      if (paused || stopping) {
        consumer.pause(assigned);
      }
      if (!assigned.isEmpty()) {
        log.info("partitions assigned: {}", assigned);
      }
    }
  }
}
