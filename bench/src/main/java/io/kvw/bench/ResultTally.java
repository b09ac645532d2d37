package io.kvw.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.Duration;
import java.util.BitSet;
import java.util.List;
import java.util.Properties;
import java.util.UUID;
import org.HdrHistogram.Histogram;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;

/**
 * Reads the results topic and counts: distinct request ids answered, duplicates, error
 * results, and when the answers arrived (for the steady-state rate). Also collects the time
 * the worker added on top of the backend call ({@code total_ms - backend_ms}), and the part
 * of it that is the worker's own handling, not the wait for a permit
 * ({@code total_ms - queue_ms - backend_ms}).
 */
final class ResultTally implements AutoCloseable {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final BitSet answered = new BitSet();
  private final long[] arrivalNanos;
  /** Each distinct result's record timestamp: when the worker published it, its own clock. */
  final long[] publishedMillis;
  /**
   * When the worker polled its first record, on its own clock: the earliest result timestamp
   * less its {@code total_ms} (which runs from the poll to the result).
   */
  long firstPolledMillis = Long.MAX_VALUE;
  final Histogram addedMs = new Histogram(3_600_000L, 3);
  final Histogram ownMs = new Histogram(3_600_000L, 3);
  /** Each answer's {@code backend_ms} and {@code queue_ms}: the call itself, the permit wait. */
  final Histogram backendMs = new Histogram(3_600_000L, 3);
  final Histogram queueMs = new Histogram(3_600_000L, 3);
  int distinct;
  int duplicates;
  int errors;
  final long startNanos = System.nanoTime();

  ResultTally(String bootstrap, String topic, int expected) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("group.id", "bench-tally-" + UUID.randomUUID());
    p.put("auto.offset.reset", "earliest");
    p.put("enable.auto.commit", "false");
    p.put("max.poll.records", "5000");
    p.put("isolation.level", "read_committed"); // what results consumers of exactly-once read
    consumer = new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
    consumer.subscribe(List.of(topic));
    arrivalNanos = new long[expected];
    publishedMillis = new long[expected];
  }

  /** Reads until every expected id is answered or the timeout passes; returns true if all. */
  boolean readAll(Duration timeout, Runnable everySecond) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    long nextTick = System.nanoTime() + 1_000_000_000L;
    while (distinct < arrivalNanos.length && System.nanoTime() < deadline) {
      for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(100))) {
        JsonNode result = JSON.readTree(r.value());
        String id = result.path("id").asText();
        int i = Integer.parseInt(id.substring(id.indexOf('-') + 1));
        if (answered.get(i)) {
          duplicates++;
          continue;
        }
        answered.set(i);
        publishedMillis[distinct] = r.timestamp();
        arrivalNanos[distinct++] = System.nanoTime();
        if (result.has("error")) {
          errors++;
        } else {
          JsonNode t = result.path("timing");
          firstPolledMillis = Math.min(firstPolledMillis,
              r.timestamp() - t.path("total_ms").asLong());
          long added = t.path("total_ms").asLong() - t.path("backend_ms").asLong();
          addedMs.recordValue(Math.max(0, added));
          ownMs.recordValue(Math.max(0, added - t.path("queue_ms").asLong()));
          backendMs.recordValue(Math.max(0, t.path("backend_ms").asLong()));
          queueMs.recordValue(Math.max(0, t.path("queue_ms").asLong()));
        }
      }
      if (System.nanoTime() >= nextTick) {
        everySecond.run();
        nextTick += 1_000_000_000L;
      }
    }
    return distinct == arrivalNanos.length;
  }

  /** Answers per second between the 10th and the 90th percentile of arrivals. */
  double steadyRate() {
    int lo = distinct / 10;
    int hi = distinct * 9 / 10;
    if (hi <= lo) {
      return Double.NaN;
    }
    return (hi - lo) / ((arrivalNanos[hi] - arrivalNanos[lo]) / 1e9);
  }

  /** Answers in each whole second since the tally started, to see a phase ramp up. */
  int[] perSecond() {
    int[] counts = new int[distinct == 0 ? 0 : (int) seconds() + 1];
    for (int i = 0; i < distinct; i++) {
      counts[(int) ((arrivalNanos[i] - startNanos) / 1_000_000_000L)]++;
    }
    return counts;
  }

  /** When the {@code i}-th distinct answer arrived, on {@link System#nanoTime}. */
  long arrivalNanos(int i) {
    return arrivalNanos[i];
  }

  /** Answers per second between the {@code lo}-th and the {@code hi}-th distinct answer. */
  double rateBetween(int lo, int hi) {
    if (hi <= lo || hi >= distinct) {
      return Double.NaN;
    }
    return (hi - lo) / ((arrivalNanos[hi] - arrivalNanos[lo]) / 1e9);
  }

  /** Answers per second from the first answer to the last, as they reached this reader. */
  double firstToLastRate() {
    if (distinct < 2) {
      return Double.NaN;
    }
    return (distinct - 1) / ((arrivalNanos[distinct - 1] - arrivalNanos[0]) / 1e9);
  }

  /** When the answer at this fraction of all answers arrived, on {@link System#nanoTime}. */
  long arrivalNanosAt(double fraction) {
    return arrivalNanos[Math.min(distinct - 1, (int) (distinct * fraction))];
  }

  /** Seconds from the tally's start to the last distinct answer. */
  double seconds() {
    return distinct == 0 ? 0 : (arrivalNanos[distinct - 1] - startNanos) / 1e9;
  }

  @Override
  public void close() {
    consumer.close();
  }
}
