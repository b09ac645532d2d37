package io.kvw.worker.observe;

import static org.assertj.core.api.Assertions.assertThat;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/**
 * The backlog reads the lag the consumer caches from its fetches, and asks the broker for log
 * end offsets only for partitions it does not fetch (paused): a ListOffsets round trip on the
 * intake thread delays every record polled after it.
 */
class BacklogTest {
  private static final TopicPartition P0 = new TopicPartition("requests", 0);
  private static final TopicPartition P1 = new TopicPartition("requests", 1);

  /** Counts the ListOffsets requests (endOffsets calls) and the partitions each one asked. */
  private static final class CountingConsumer extends MockConsumer<byte[], byte[]> {
    final AtomicInteger endOffsetCalls = new AtomicInteger();
    Collection<TopicPartition> lastAsked = List.of();

    CountingConsumer() {
      super("earliest");
    }

    @Override
    public synchronized Map<TopicPartition, Long> endOffsets(
        Collection<TopicPartition> partitions, Duration timeout) {
      endOffsetCalls.incrementAndGet();
      lastAsked = List.copyOf(partitions);
      return super.endOffsets(partitions, timeout);
    }
  }

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final Backlog backlog = new Backlog(registry, () -> 0, Duration.ZERO,
      Duration.ofMinutes(1));
  private final CountingConsumer consumer = new CountingConsumer();

  private void assigned(long end0, long position0, long end1, long position1) {
    consumer.assign(List.of(P0, P1));
    consumer.updateBeginningOffsets(Map.of(P0, 0L, P1, 0L));
    consumer.updateEndOffsets(Map.of(P0, end0, P1, end1));
    consumer.seek(P0, position0);
    consumer.seek(P1, position1);
  }

  private double gauge(String name) {
    return registry.get(name).gauge().value();
  }

  private double lag(TopicPartition tp) {
    return registry.get("kvw.consumer.lag").tag("partition", Integer.toString(tp.partition()))
        .gauge().value();
  }

  @Test
  void whileRecordsFlowTheCachedLagIsReadAndNoBrokerIsAsked() {
    assigned(100, 90, 50, 50);
    backlog.maybeRefresh(consumer, tp -> tp.equals(P1) ? 3 : 0);
    assertThat(consumer.endOffsetCalls).hasValue(0);
    assertThat(lag(P0)).isEqualTo(10);
    assertThat(lag(P1)).as("read, still in progress").isEqualTo(3);
    assertThat(gauge("kvw.backlog.records")).isEqualTo(13);
  }

  @Test
  void pausedPartitionsAreAskedForTheirLogEnd() {
    assigned(100, 90, 50, 40);
    consumer.pause(List.of(P1));
    backlog.maybeRefresh(consumer, tp -> 0);
    assertThat(consumer.endOffsetCalls).hasValue(1);
    assertThat(consumer.lastAsked).containsExactly(P1);
    assertThat(lag(P0)).isEqualTo(10);
    assertThat(lag(P1)).isEqualTo(10);
    assertThat(gauge("kvw.backlog.records")).isEqualTo(20);
  }

  @Test
  void atMostOncePerInterval() {
    Backlog slow = new Backlog(new SimpleMeterRegistry(), () -> 0, Duration.ofHours(1),
        Duration.ofMinutes(1));
    assigned(100, 90, 50, 40);
    consumer.pause(List.of(P0, P1));
    slow.maybeRefresh(consumer, tp -> 0);
    slow.maybeRefresh(consumer, tp -> 0);
    assertThat(consumer.endOffsetCalls).hasValue(1);
  }
}
