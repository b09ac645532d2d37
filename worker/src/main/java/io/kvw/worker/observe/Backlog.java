package io.kvw.worker.observe;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.MultiGauge;
import io.micrometer.core.instrument.Tags;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.Set;
import java.util.function.LongSupplier;
import java.util.function.ToIntFunction;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backlog of this worker's partitions: per partition, the records not finished yet (log
 * end offset minus the consumer's position, plus the records read and still in progress), and
 * the estimated time to drain them ({@link DrainEstimate}).
 *
 * <p>Refreshed by the intake thread between polls, at most once per interval, since it owns
 * the consumer. A partition being fetched has its lag cached from the last fetch response
 * ({@link Consumer#currentLag}), which costs nothing; only paused partitions, or ones without a
 * fetch yet, cost a ListOffsets request, a broker round trip during which intake polls no
 * record (on a loaded machine it took tens of milliseconds, every refresh). Exported as
 * {@code kvw_consumer_lag{topic,partition}}, {@code kvw_backlog_records} and
 * {@code kvw_backlog_drain_seconds}.
 */
public final class Backlog {
  private static final Logger log = LoggerFactory.getLogger(Backlog.class);

  private final Duration interval;
  private final LongSupplier completedTotal;
  private final MultiGauge lagByPartition;
  private final DrainEstimate drain;
  private volatile long total;
  private long lastRefreshNanos;

  public Backlog(MeterRegistry registry, LongSupplier completedTotal, Duration interval,
      Duration rateWindow) {
    this.interval = interval;
    this.completedTotal = completedTotal;
    this.drain = new DrainEstimate(rateWindow);
    this.lagByPartition = MultiGauge.builder("kvw.consumer.lag")
        .description("Records of a partition not finished yet: not read (log end offset minus "
            + "position) plus read and in progress").register(registry);
    Gauge.builder("kvw.backlog.records", () -> total)
        .description("Records of this worker's partitions not finished yet").register(registry);
    Gauge.builder("kvw.backlog.drain.seconds", drain::seconds)
        .description("Estimated seconds to finish the backlog at the completion rate of the "
            + "last minute (NaN while nothing finishes)").register(registry);
  }

  /**
   * Refreshes when the interval has passed. Call on the thread that owns {@code consumer};
   * {@code open} gives the records of a partition read and not finished.
   */
  public void maybeRefresh(Consumer<?, ?> consumer, ToIntFunction<TopicPartition> open) {
    long now = System.nanoTime();
    if (lastRefreshNanos != 0 && now - lastRefreshNanos < interval.toNanos()) {
      return;
    }
    lastRefreshNanos = now;
    Set<TopicPartition> assigned = consumer.assignment();
    List<MultiGauge.Row<?>> rows = new ArrayList<>();
    long sum = 0;
    try {
      Map<TopicPartition, Long> unread = unread(consumer, assigned);
      for (Map.Entry<TopicPartition, Long> e : unread.entrySet()) {
        TopicPartition tp = e.getKey();
        long lag = Math.max(0, e.getValue()) + open.applyAsInt(tp);
        sum += lag;
        rows.add(MultiGauge.Row.of(Tags.of("topic", tp.topic(), "partition",
            Integer.toString(tp.partition())), lag));
      }
    } catch (RuntimeException e) {
      log.debug("log end offsets not read ({}); the backlog figures keep their last values",
          e.toString());
      return;
    }
    lagByPartition.register(rows, true); // partitions that left us disappear
    total = sum;
    drain.update(now, sum, completedTotal.getAsLong());
  }

  /**
   * Records not read yet per partition: the cached lag where the consumer fetches the
   * partition, else the log end offset (one ListOffsets request for all such partitions) minus
   * the position.
   */
  private static Map<TopicPartition, Long> unread(Consumer<?, ?> consumer,
      Set<TopicPartition> assigned) {
    Map<TopicPartition, Long> unread = new HashMap<>();
    Set<TopicPartition> paused = consumer.paused();
    List<TopicPartition> ask = new ArrayList<>();
    for (TopicPartition tp : assigned) {
      OptionalLong cached = paused.contains(tp) ? OptionalLong.empty() : consumer.currentLag(tp);
      if (cached.isPresent()) {
        unread.put(tp, cached.getAsLong());
      } else {
        ask.add(tp);
      }
    }
    if (!ask.isEmpty()) {
      consumer.endOffsets(ask, Duration.ofSeconds(2)).forEach((tp, end) ->
          unread.put(tp, end - consumer.position(tp, Duration.ofSeconds(2))));
    }
    return unread;
  }
}
