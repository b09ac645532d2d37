package io.kvw.worker.intake.share;

import io.kvw.common.ErrorType;
import io.kvw.worker.intake.PolledRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.ShareConsumer;
import org.apache.kafka.common.TopicIdPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One share consumer and the thread that owns it. Only that thread may poll and acknowledge,
 * so outcomes that finish on other threads only settle a {@link ShareTicket} and wake it; it
 * turns them into acknowledgements: ACCEPT once the outcome is published and acknowledged by
 * the broker, RELEASE for what the worker gives back.
 *
 * <p>With explicit acknowledgement a share consumer may poll again only once every record of
 * the last poll is acknowledged, and while any lock renewal is pending it fetches nothing new
 * (measured with kafka-clients 4.4). So a lane works in rounds: poll a batch, hand it on,
 * acknowledge records as they finish, and fetch again when the batch is done. Records still
 * running when half the acquisition lock has passed are renewed (RENEW; the broker returns
 * them in a later poll, to be acknowledged again), or, during a vLLM outage, given back
 * (RELEASE) so a replica whose vLLM is up can take them. Several lanes per worker keep records
 * coming while one lane waits for its slowest record.
 */
final class ShareLane implements Runnable {
  private static final Logger log = LoggerFactory.getLogger(ShareLane.class);
  private static final Duration POLL_TIMEOUT = Duration.ofMillis(100);
  private static final Duration RENEWED_POLL_TIMEOUT = Duration.ofMillis(20);
  private static final long IDLE_WAIT_MS = 50;
  /** How long a record on its last delivery may take to be dead-lettered past the drain. */
  private static final Duration LAST_DELIVERY_GRACE = Duration.ofSeconds(10);

  private record Key(int partition, long offset) {}

  /** A record this lane acquired and has not acknowledged yet. */
  private static final class Held {
    ConsumerRecord<byte[], byte[]> record;
    final ShareTicket ticket;
    long lockedAtNanos;

    Held(ConsumerRecord<byte[], byte[]> record, ShareTicket ticket, long lockedAtNanos) {
      this.record = record;
      this.ticket = ticket;
      this.lockedAtNanos = lockedAtNanos;
    }
  }

  private final ShareConsumer<byte[], byte[]> consumer;
  private final ShareIntake intake;
  private final int batch;
  /** Returned by the last poll and not acknowledged: they block the next poll. */
  private final Map<Key, Held> held = new LinkedHashMap<>();
  /** Renewed, and not returned by a poll yet. */
  private final Map<Key, Held> renewing = new HashMap<>();
  private final Semaphore settled = new Semaphore(0);
  private volatile boolean stopping;
  private volatile long lastLoopNanos = System.nanoTime();
  private volatile boolean polledOnce;
  /** Idle because the worker had no room for another batch. */
  private volatile boolean waitingForRoom;
  private boolean acksToSend;
  /** Room in the worker's buffer this lane reserved for the batch it is fetching. */
  private int reserved;
  /** When the lane reserved room for its next batch (0: it has none reserved). */
  private long readySinceNanos;
  /** When the poll that brought the records held now returned (0: none held). */
  private long roundStartNanos;

  ShareLane(ShareConsumer<byte[], byte[]> consumer, ShareIntake intake, int batch) {
    this.consumer = consumer;
    this.intake = intake;
    this.batch = batch;
  }

  @Override
  public void run() {
    consumer.setAcknowledgementCommitCallback(this::onAcknowledged);
    try {
      consumer.subscribe(List.of(intake.topic()));
      while (!stopping) {
        step();
      }
      drain();
    } finally {
      intake.release(held.size() + renewing.size() + reserved);
      consumer.close(Duration.ofSeconds(5)); // releases what is still acquired
    }
  }

  private void step() {
    lastLoopNanos = System.nanoTime();
    acknowledgeSettled();
    if (held.isEmpty()) {
      fetch();
    } else if (renewDue()) {
      renewOrGiveBack(intake.holding());
    } else {
      sendAcknowledgements();
      await(IDLE_WAIT_MS);
    }
  }

  /**
   * Polls for new records (within the worker's buffer) or for the renewed ones. Room reserved
   * for a batch stays reserved until a poll returns records: a poll that returned nothing may
   * have left a fetch in flight, whose records are acquired (their locks ticking) as soon as
   * the broker answers, so the lane must keep polling until it has them.
   */
  private void fetch() {
    expireRenewals();
    if (stopping && reserved > 0) {
      intake.release(reserved); // draining: nothing new starts; close() releases what came
      reserved = 0;
    }
    if (renewing.isEmpty() && reserved == 0) {
      reserved = stopping ? 0 : intake.reserve(batch);
      readySinceNanos = System.nanoTime();
      if (reserved == 0) {
        sendAcknowledgements();
        waitingForRoom = true;
        await(IDLE_WAIT_MS);
        waitingForRoom = false;
        return;
      }
    }
    ConsumerRecords<byte[], byte[]> records = consumer.poll(renewing.isEmpty() ? POLL_TIMEOUT
        : RENEWED_POLL_TIMEOUT);
    polledOnce = true;
    acksToSend = false; // a poll sends the acknowledgements given since the last one
    long now = System.nanoTime();
    int fresh = 0;
    int recordsInPoll = records.count();
    for (ConsumerRecord<byte[], byte[]> record : records) {
      Key key = new Key(record.partition(), record.offset());
      Held renewed = renewing.remove(key);
      if (renewed != null) {
        renewed.record = record;
        renewed.lockedAtNanos = now;
        held.put(key, renewed);
      } else if (fresh < reserved) {
        fresh++;
        admit(key, record, recordsInPoll, now);
      } else {
        // fetched beyond the reserved room (or while draining): not ours to start
        consumer.acknowledge(record, AcknowledgeType.RELEASE);
        intake.metrics().acknowledged("release", 1);
        acksToSend = true;
      }
    }
    intake.metrics().polled(fresh);
    if (fresh > 0) {
      intake.release(reserved - fresh);
      reserved = 0;
      intake.metrics().shareFetchWaited(now - readySinceNanos);
      roundStartNanos = now;
    }
  }

  private void admit(Key key, ConsumerRecord<byte[], byte[]> record, int recordsInPoll,
      long now) {
    int deliveries = record.deliveryCount().map(Short::intValue).orElse(1);
    int limit = intake.settings().deliveryLimit();
    boolean last = deliveries >= limit;
    ShareTicket ticket = new ShareTicket(record.partition(), record.offset(), last,
        settled::release);
    held.put(key, new Held(record, ticket, now));
    PolledRecord polled = intake.handoff().polled(record, ticket, now);
    if (last) {
      log.warn("{}-{}: delivery {} of at most {}; dead-lettered instead of run again",
          record.topic(), ticket, deliveries, limit);
      intake.handoff().deadLetter(polled, ErrorType.DELIVERY_LIMIT, "delivered " + deliveries
          + " times (the share group's " + ShareGroupSettings.DELIVERY_LIMIT + " is " + limit
          + ") without an outcome; dead-lettered on its last delivery");
    } else {
      intake.handoff().accept(polled, recordsInPoll);
    }
  }

  /** Acknowledges every held record whose outcome is settled. */
  private void acknowledgeSettled() {
    for (Iterator<Held> it = held.values().iterator(); it.hasNext(); ) {
      Held h = it.next();
      ShareTicket.State state = h.ticket.state();
      if (state == ShareTicket.State.OPEN) {
        continue;
      }
      boolean accept = state == ShareTicket.State.COMPLETED;
      consumer.acknowledge(h.record, accept ? AcknowledgeType.ACCEPT : AcknowledgeType.RELEASE);
      intake.metrics().acknowledged(accept ? "accept" : "release", 1);
      it.remove();
      intake.release(1);
      acksToSend = true;
    }
    if (held.isEmpty() && roundStartNanos != 0) {
      intake.metrics().shareRound(System.nanoTime() - roundStartNanos);
      roundStartNanos = 0;
    }
  }

  private boolean renewDue() {
    if (!intake.settings().renewAllowed()) {
      return false; // start-up checked that a request fits in the lock
    }
    long halfLock = lockDuration().toNanos() / 2;
    long now = System.nanoTime();
    for (Held h : held.values()) {
      if (now - h.lockedAtNanos >= halfLock) {
        return true;
      }
    }
    return false;
  }

  /**
   * Renews every held record, or during an outage gives back those not on their last delivery
   * (they wait in Kafka, not here, and a replica whose vLLM is up may take them). Either way
   * nothing is held afterwards, so the lane may poll again.
   */
  private void renewOrGiveBack(boolean outage) {
    List<ShareTicket> givenBack = new ArrayList<>();
    for (Map.Entry<Key, Held> e : held.entrySet()) {
      Held h = e.getValue();
      if (outage && !h.ticket.lastDelivery() && h.ticket.abandon()) {
        consumer.acknowledge(h.record, AcknowledgeType.RELEASE);
        intake.release(1);
        givenBack.add(h.ticket);
      } else {
        // settled meanwhile: it is acknowledged when the broker returns it
        consumer.acknowledge(h.record, AcknowledgeType.RENEW);
        renewing.put(e.getKey(), h);
      }
    }
    intake.metrics().acknowledged("renew", renewing.size());
    intake.metrics().acknowledged("release", givenBack.size());
    held.clear();
    acksToSend = true;
    if (!givenBack.isEmpty()) {
      log.info("vLLM unavailable: {} records given back to the share group", givenBack.size());
      intake.handoff().cancel(givenBack);
    }
  }

  /** Renewed records the broker did not return within a lock are no longer ours. */
  private void expireRenewals() {
    long now = System.nanoTime();
    long lock = lockDuration().toNanos();
    List<Key> lost = new ArrayList<>();
    renewing.forEach((k, h) -> {
      if (now - h.lockedAtNanos > lock) {
        lost.add(k);
      }
    });
    if (!lost.isEmpty()) {
      log.warn("{} renewed records were not returned within the lock; they are delivered "
          + "again", lost.size());
      lose(lost);
    }
  }

  /**
   * Runs on this thread, inside poll or commit. A failed ACCEPT means the lock had passed: the
   * record is delivered again and its outcome published twice (at-least-once). A failed RENEW
   * means the record is no longer ours: its work stops, unless it is being dead-lettered.
   */
  private void onAcknowledged(Map<TopicIdPartition, Set<Long>> offsets, Exception e) {
    if (e == null) {
      return;
    }
    List<Key> lost = new ArrayList<>();
    int n = 0;
    for (Map.Entry<TopicIdPartition, Set<Long>> p : offsets.entrySet()) {
      for (long offset : p.getValue()) {
        n++;
        Key k = new Key(p.getKey().partition(), offset);
        if (renewing.containsKey(k)) {
          lost.add(k);
        }
      }
    }
    intake.metrics().acknowledgementFailed(n);
    log.warn("the broker did not take the acknowledgements of {} records ({}); they are "
        + "delivered again", n, e.toString());
    lose(lost);
  }

  private void lose(List<Key> keys) {
    List<ShareTicket> stopped = new ArrayList<>();
    for (Key k : keys) {
      Held h = renewing.remove(k);
      intake.release(1);
      if (!h.ticket.lastDelivery() && h.ticket.abandon()) {
        stopped.add(h.ticket);
      }
    }
    intake.handoff().cancel(stopped);
  }

  private Duration lockDuration() {
    return consumer.acquisitionLockTimeoutMs().map(ms -> Duration.ofMillis(ms))
        .orElse(intake.settings().lockDuration());
  }

  private void sendAcknowledgements() {
    if (acksToSend) {
      consumer.commitAsync();
      acksToSend = false;
    }
  }

  private void await(long ms) {
    try {
      if (settled.tryAcquire(ms, TimeUnit.MILLISECONDS)) {
        settled.drainPermits();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stopping = true;
    }
  }

  /**
   * Stops taking records and lets the held ones finish up to the drain timeout (records on
   * their last delivery get a little longer: giving them back would lose them); what is left
   * is RELEASEd for another delivery and its work cancelled.
   */
  private void drain() {
    long start = System.nanoTime();
    long deadline = start + intake.drainTimeout().toNanos();
    while (System.nanoTime() < deadline ? !held.isEmpty() || !renewing.isEmpty()
        : System.nanoTime() < deadline + LAST_DELIVERY_GRACE.toNanos() && lastDeliveryOpen()) {
      step();
    }
    acknowledgeSettled();
    List<ShareTicket> givenBack = new ArrayList<>();
    for (Held h : held.values()) {
      if (h.ticket.abandon()) {
        givenBack.add(h.ticket);
      }
      consumer.acknowledge(h.record, AcknowledgeType.RELEASE);
    }
    intake.metrics().acknowledged("release", held.size());
    intake.release(held.size());
    held.clear();
    if (!givenBack.isEmpty() || !renewing.isEmpty()) {
      log.warn("drain timeout: {} records unfinished; released for another delivery",
          givenBack.size() + renewing.size());
      renewing.values().forEach(h -> h.ticket.abandon());
      givenBack.addAll(renewing.values().stream().map(h -> h.ticket).toList());
      intake.handoff().cancel(givenBack);
    }
    intake.release(renewing.size()); // still acquired: closing the consumer releases them
    renewing.clear();
    try {
      consumer.commitSync(Duration.ofSeconds(5));
    } catch (RuntimeException e) {
      log.warn("final acknowledgements not committed ({}); those records are delivered again",
          e.toString());
    }
  }

  private boolean lastDeliveryOpen() {
    for (Held h : held.values()) {
      if (h.ticket.lastDelivery() && h.ticket.state() == ShareTicket.State.OPEN) {
        return true;
      }
    }
    return false;
  }

  void stop() {
    stopping = true;
    settled.release();
  }

  /** Ends a wait for room in the worker's buffer (another lane's record was acknowledged). */
  void wake() {
    if (waitingForRoom && settled.availablePermits() == 0) {
      settled.release();
    }
  }

  long lastLoopNanos() {
    return lastLoopNanos;
  }

  boolean polledOnce() {
    return polledOnce;
  }
}
