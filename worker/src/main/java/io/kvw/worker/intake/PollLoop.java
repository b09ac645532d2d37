package io.kvw.worker.intake;

import io.kvw.worker.admission.Admission;
import io.kvw.worker.dispatch.Dispatcher;
import io.kvw.worker.ledger.OffsetLedger;
import io.kvw.worker.ledger.OffsetTicket;
import io.kvw.worker.observe.Backlog;
import io.kvw.worker.observe.RecordLog;
import io.kvw.worker.observe.WorkerMetrics;
import io.kvw.worker.observe.trace.Tracing;
import io.kvw.worker.publish.OutcomePublisher;
import java.time.Duration;
import java.util.Collection;
import java.util.ArrayList;
import java.util.HashSet;
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
import org.apache.kafka.common.errors.ProducerFencedException;
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
 * records finish or the drain timeout passes; what finished is committed synchronously, what is
 * left is abandoned (cancelled, never committed). Revocation does the same for the revoked
 * partitions only, so a rebalance redoes only what was in flight.
 *
 * <p>Offset maps: on assignment the loop reads each partition's committed offset and metadata,
 * and records the map marks as finished are tracked as done without being run again. When the
 * {@link OffsetCommitter} reports an aborted transaction, the loop rewinds its partitions to
 * the last commit: their open records are abandoned and read again.
 */
public final class PollLoop implements Intake {
  private static final Logger log = LoggerFactory.getLogger(PollLoop.class);
  private static final Duration POLL_TIMEOUT = Duration.ofMillis(100);

  private final Consumer<byte[], byte[]> consumer;
  private final String topic;
  private final OffsetLedger ledger;
  private final Handoff handoff;
  private final Dispatcher dispatcher;
  private final OffsetCommitter committer;
  private final boolean mapsRequired;
  private final FlowControl flow;
  private final Duration commitInterval;
  private final Duration drainTimeout;
  private final WorkerMetrics metrics;
  private final BooleanSupplier holdIntake;
  private final Tracing tracing;
  private final Backlog backlog;
  private final ResumeSignal resumable;
  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile boolean stopping;
  private volatile boolean paused;
  private volatile long lastPollNanos = System.nanoTime();
  private volatile boolean assignedOnce;
  private long lastCommitNanos = System.nanoTime();

  public PollLoop(Consumer<byte[], byte[]> consumer, String topic, OffsetLedger ledger,
      Admission admission, Dispatcher dispatcher, OutcomePublisher publisher,
      OffsetCommitter committer, boolean mapsRequired, FlowControl flow,
      Duration commitInterval, Duration drainTimeout, WorkerMetrics metrics,
      BooleanSupplier holdIntake, Tracing tracing, Backlog backlog) {
    this.consumer = consumer;
    this.committer = committer;
    this.mapsRequired = mapsRequired;
    this.topic = topic;
    this.ledger = ledger;
    this.handoff = new Handoff(admission, dispatcher, publisher, tracing);
    this.dispatcher = dispatcher;
    this.flow = flow;
    this.commitInterval = commitInterval;
    this.drainTimeout = drainTimeout;
    this.metrics = metrics;
    this.holdIntake = holdIntake;
    this.tracing = tracing;
    this.backlog = backlog;
    this.resumable = new ResumeSignal(flow, ledger::open);
    ledger.onTicketDone(resumable::recordDone);
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
    } catch (ProducerFencedException e) {
      // a newer worker holds our transactional.id: we are a zombie; commit nothing more
      log.error("fenced by another worker with the same transactional id; stopping without "
          + "committing (its records are read again by the group)");
      dispatcher.cancel(ledger.abandonAll());
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
    if (pausedForFullBuffer() && !stopping) {
      // wait for the records to go down here, not in a paused poll, which would sleep its
      // whole timeout however soon intake may resume
      resumable.awaitResumable(POLL_TIMEOUT);
      applyFlowControl();
    }
    // still paused: a poll that returns at once keeps the group membership and callbacks going
    ConsumerRecords<byte[], byte[]> records = consumer.poll(
        pausedForFullBuffer() ? Duration.ZERO : POLL_TIMEOUT);
    lastPollNanos = System.nanoTime();
    int recordsInPoll = records.count();
    metrics.polled(recordsInPoll);
    for (ConsumerRecord<byte[], byte[]> record : records) {
      admit(record, recordsInPoll);
    }
    if (System.nanoTime() - lastCommitNanos >= commitInterval.toNanos()) {
      commitPeriodically();
    }
    backlog.maybeRefresh(consumer, ledger::open);
  }

  private void admit(ConsumerRecord<byte[], byte[]> record, int recordsInPoll) {
    TopicPartition tp = new TopicPartition(record.topic(), record.partition());
    if (ledger.skipIfFinished(tp, record.offset())) {
      metrics.skippedFinished(); // its outcome is already published: never run it twice
      return;
    }
    OffsetTicket ticket = ledger.track(tp, record.offset());
    handoff.accept(handoff.polled(record, ticket, System.nanoTime()), recordsInPoll);
  }

  /** Paused because too many records are open, not because the backend is in an outage. */
  private boolean pausedForFullBuffer() {
    return paused && !holdIntake.getAsBoolean();
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

  private void commitPeriodically() {
    lastCommitNanos = System.nanoTime();
    List<OffsetTicket> abandoned = new ArrayList<>();
    committer.commit(false, null, outcome -> {
      if (outcome == OffsetCommitter.Outcome.ABORTED) {
        abandoned.addAll(rewind(consumer.assignment()));
      }
    });
    dispatcher.cancel(abandoned);
  }

  /** Back to the last commit: open records are given back and their partitions read again. */
  private List<OffsetTicket> rewind(Collection<TopicPartition> tps) {
    OffsetLedger.Rewind r = ledger.rewind(tps);
    r.seekTo().forEach(consumer::seek);
    log.warn("rewound {} to the last commit; {} unfinished records given back", r.seekTo(),
        r.abandoned().size());
    return r.abandoned();
  }

  private void drain() {
    log.info("draining: {} records open, up to {} ms", ledger.open(), drainTimeout.toMillis());
    consumer.pause(consumer.assignment());
    paused = true;
    long deadline = System.nanoTime() + drainTimeout.toNanos();
    while (ledger.open() > 0 && System.nanoTime() < deadline) {
      consumer.poll(Duration.ofMillis(50)); // paused: keeps membership, returns nothing
      if (System.nanoTime() - lastCommitNanos >= commitInterval.toNanos()) {
        commitPeriodically();
      }
    }
    List<OffsetTicket> abandoned = new ArrayList<>();
    committer.commit(true, null, outcome -> abandoned.addAll(ledger.abandonAll()));
    if (!abandoned.isEmpty()) {
      log.warn("drain: {} records unfinished; cancelled, not committed, read again on the next "
          + "start", abandoned.size());
      dispatcher.cancel(abandoned);
    }
  }

  @Override
  public void stop() {
    stopping = true;
    resumable.wake();
    consumer.wakeup();
  }

  @Override
  public boolean awaitStopped(Duration timeout) throws InterruptedException {
    return stopped.await(timeout.toMillis(), java.util.concurrent.TimeUnit.MILLISECONDS);
  }

  @Override
  public long lastPollNanos() {
    return lastPollNanos;
  }

  @Override
  public boolean paused() {
    return paused;
  }

  @Override
  public boolean joined() {
    return assignedOnce;
  }

  /** {@code topic-partition=offset ...}, for logs. */
  public static String describe(Map<TopicPartition, OffsetAndMetadata> offsets) {
    StringBuilder b = new StringBuilder();
    offsets.forEach((tp, om) -> b.append(tp).append('=').append(om.offset()).append(' '));
    return b.toString().trim();
  }

  /**
   * Reads the committed offsets and maps of newly assigned partitions, so records finished
   * before the last commit are skipped. Without the maps, at-least-once still holds (they run
   * again); exactly-once needs them, so there a failure to read them stops the intake rather
   * than publishing an outcome twice.
   */
  private void resumeFromCommits(Collection<TopicPartition> assigned) {
    Map<TopicPartition, OffsetAndMetadata> committed;
    try {
      committed = consumer.committed(new HashSet<>(assigned), Duration.ofSeconds(60));
    } catch (RuntimeException e) {
      if (mapsRequired) {
        throw e;
      }
      log.warn("could not read the committed offset maps of {} ({}); finished records above "
          + "the committed offsets run again", assigned, e.toString());
      return;
    }
    int skippable = 0;
    for (TopicPartition tp : assigned) {
      OffsetAndMetadata om = committed.get(tp);
      if (om != null) {
        ledger.resume(tp, om.offset(), om.metadata());
        skippable += ledger.finishedInMap(tp);
      }
    }
    if (skippable > 0) {
      log.info("offset maps of {}: {} records above the committed offsets are already finished "
          + "and are skipped", assigned, skippable);
    }
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
      List<OffsetTicket> abandoned = new ArrayList<>();
      committer.commit(true, revoked, outcome -> {
        if (outcome == OffsetCommitter.Outcome.ABORTED) {
          List<TopicPartition> kept = new ArrayList<>(consumer.assignment());
          kept.removeAll(revoked);
          abandoned.addAll(rewind(kept));
        }
        abandoned.addAll(ledger.release(revoked));
      });
      if (!abandoned.isEmpty()) {
        log.warn("revoked {} with {} records unfinished; they are cancelled and left to the "
            + "next owner", revoked, abandoned.size());
        dispatcher.cancel(abandoned);
      }
      log.info("partitions revoked: {}", revoked);
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> lost) {
      // their offsets can no longer be committed by us; with a transaction, what it carries for
      // them must not commit either, so it is dropped and the other partitions read again
      List<OffsetTicket> abandoned = new ArrayList<>();
      committer.discard(outcome -> {
        if (outcome == OffsetCommitter.Outcome.ABORTED) {
          List<TopicPartition> kept = new ArrayList<>(consumer.assignment());
          kept.removeAll(lost);
          abandoned.addAll(rewind(kept));
        }
        abandoned.addAll(ledger.release(lost));
      });
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
        resumeFromCommits(assigned);
        log.info("partitions assigned: {}", assigned);
      }
    }
  }
}
