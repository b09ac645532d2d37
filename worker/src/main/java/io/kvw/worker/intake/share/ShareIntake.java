package io.kvw.worker.intake.share;

import io.kvw.worker.intake.Handoff;
import io.kvw.worker.intake.Intake;
import io.kvw.worker.observe.WorkerMetrics;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BooleanSupplier;
import org.apache.kafka.clients.consumer.ShareConsumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The share-group intake ({@code worker.intake=share}, KIP-932): several
 * {@link ShareLane}s, each a member of the share group with its own consumer and thread, take
 * records from the same partitions as every other replica and acknowledge each record on its
 * own. Admission, dispatch and publishing are the consumer-group intake's; what differs is
 * how an outcome frees a record (an ACCEPT instead of an offset commit) and that the broker
 * counts deliveries: a record on the group's last delivery is dead-lettered as
 * {@code delivery_limit} instead of being run again, and a record whose transient failures
 * outlast the retries is released for another delivery.
 *
 * <p>Memory stays bounded: a lane polls only after reserving room for a full batch in the
 * worker's {@code worker.max-buffered}, and not at all during a vLLM outage. With explicit
 * acknowledgement a lane fetches again only once its whole last batch is acknowledged, so each
 * lane fetches its share of the buffer and several take turns: while some wait for the slowest
 * record of their batch, or for the broker's answer to a fetch, the others keep the permits
 * busy.
 */
public final class ShareIntake implements Intake {
  private static final Logger log = LoggerFactory.getLogger(ShareIntake.class);

  private final String topic;
  private final Handoff handoff;
  private final ShareGroupSettings settings;
  private final int maxBuffered;
  private final int batch;
  private final Duration drainTimeout;
  private final WorkerMetrics metrics;
  private final BooleanSupplier holdIntake;
  private final List<ShareLane> lanes = new ArrayList<>();
  private final AtomicInteger open = new AtomicInteger();
  private final CountDownLatch stopped = new CountDownLatch(1);
  private volatile boolean stopping;

  /**
   * @param consumers one per lane, configured for explicit acknowledgement and
   *     {@code share.acquire.mode=record_limit} with {@code max.poll.records = batch}
   */
  public ShareIntake(List<? extends ShareConsumer<byte[], byte[]>> consumers, String topic,
      Handoff handoff, ShareGroupSettings settings, int maxBuffered, int batch,
      Duration drainTimeout, WorkerMetrics metrics, BooleanSupplier holdIntake) {
    if ((long) batch * consumers.size() > maxBuffered) {
      throw new IllegalArgumentException(consumers.size() + " share consumers of " + batch
          + " records exceed worker.max-buffered (" + maxBuffered + ")");
    }
    this.topic = topic;
    this.handoff = handoff;
    this.settings = settings;
    this.maxBuffered = maxBuffered;
    this.batch = batch;
    this.drainTimeout = drainTimeout;
    this.metrics = metrics;
    this.holdIntake = holdIntake;
    consumers.forEach(c -> lanes.add(new ShareLane(c, this, batch)));
  }

  /** The batch of one lane: its share of the buffer, at most 500 (the clients' default). */
  public static int batchFor(int maxBuffered, int consumers) {
    return Math.max(1, Math.min(500, maxBuffered / consumers));
  }

  @Override
  public void run() {
    List<Thread> threads = new ArrayList<>();
    for (int i = 0; i < lanes.size(); i++) {
      ShareLane lane = lanes.get(i);
      Thread t = new Thread(() -> {
        try {
          lane.run();
        } catch (RuntimeException e) {
          log.error("share consumer stopped by an unexpected error; its records are delivered "
              + "again", e);
          stop(); // a worker short of a lane is not what the operator configured: let it end
        }
      }, "intake-share-" + i);
      threads.add(t);
      t.start();
    }
    log.info("share group intake: {} consumers of up to {} records each on {}", lanes.size(),
        batch, topic);
    try {
      for (Thread t : threads) {
        t.join();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } finally {
      stopped.countDown();
    }
  }

  /**
   * Room for {@code n} more records: returns {@code n} and counts them as open, or 0 when the
   * buffer has no room for a whole batch or vLLM is unavailable.
   */
  int reserve(int n) {
    while (true) {
      int now = open.get();
      if (stopping || holding() || now + n > maxBuffered) {
        return 0;
      }
      if (open.compareAndSet(now, now + n)) {
        return n;
      }
    }
  }

  /** {@code n} reserved or held records are no longer open: a lane waiting for room may fetch. */
  void release(int n) {
    if (n != 0) {
      open.addAndGet(-n);
      lanes.forEach(ShareLane::wake);
    }
  }

  boolean holding() {
    return holdIntake.getAsBoolean();
  }

  String topic() {
    return topic;
  }

  Handoff handoff() {
    return handoff;
  }

  ShareGroupSettings settings() {
    return settings;
  }

  Duration drainTimeout() {
    return drainTimeout;
  }

  WorkerMetrics metrics() {
    return metrics;
  }

  /** Records acquired (or reserved for) and not acknowledged: the memory bound's measure. */
  public int open() {
    return open.get();
  }

  @Override
  public void stop() {
    stopping = true;
    lanes.forEach(ShareLane::stop);
  }

  @Override
  public boolean awaitStopped(Duration timeout) throws InterruptedException {
    return stopped.await(timeout.toMillis(), TimeUnit.MILLISECONDS);
  }

  /**
   * The latest turn of any lane's loop. A lane does not poll while its records run or while
   * vLLM is down, so liveness follows the loop, not the poll.
   */
  @Override
  public long lastPollNanos() {
    long latest = Long.MIN_VALUE;
    for (ShareLane lane : lanes) {
      latest = Math.max(latest, lane.lastLoopNanos());
    }
    return latest;
  }

  @Override
  public boolean paused() {
    return holding() || open.get() + batch > maxBuffered;
  }

  /** A share group has no assignment callback: joined once a lane's poll has returned. */
  @Override
  public boolean joined() {
    for (ShareLane lane : lanes) {
      if (lane.polledOnce()) {
        return true;
      }
    }
    return false;
  }
}
