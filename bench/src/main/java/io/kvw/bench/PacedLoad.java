package io.kvw.bench;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Produces requests open-loop at a fixed rate, whatever the worker does: a timer wakes every
 * millisecond and sends the records due by then, so the producer sleeps between sends instead
 * of spinning a core. Each record's timestamp is set when it is sent (and remembered), and the
 * producer does not linger, so a record's timestamp is when a user would have sent it.
 */
final class PacedLoad implements AutoCloseable {
  private final KafkaProducer<byte[], byte[]> producer;
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(
      r -> {
        Thread t = new Thread(r, "paced-load");
        t.setDaemon(true);
        return t;
      });

  PacedLoad(String bootstrap) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("linger.ms", "0");
    p.put("acks", "1");
    producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
  }

  /**
   * Sends {@code n} requests with ids {@code PREFIX-<i>} to {@code topic} at {@code perSecond},
   * spread over its partitions; returns once the last is sent. {@code sentAtMillis} receives
   * each id's record timestamp.
   */
  void run(String topic, String prefix, int n, double perSecond, Map<String, Long> sentAtMillis)
      throws InterruptedException {
    int partitions = producer.partitionsFor(topic).size();
    CountDownLatch done = new CountDownLatch(1);
    long start = System.nanoTime();
    int[] sent = {0};
    ScheduledFuture<?> ticks = timer.scheduleAtFixedRate(() -> {
      long due = Math.min(n, 1 + (long) ((System.nanoTime() - start) / 1e9 * perSecond));
      while (sent[0] < due) {
        int i = sent[0]++;
        String id = prefix + "-" + i;
        String value = "{\"id\":\"" + id + "\",\"prompt\":\"bench request number " + i
            + " for the worker\",\"params\":{\"max_tokens\":1}}";
        long now = System.currentTimeMillis();
        sentAtMillis.put(id, now);
        producer.send(new ProducerRecord<>(topic, i % partitions, now, null,
            value.getBytes(StandardCharsets.UTF_8)));
      }
      if (sent[0] >= n) {
        done.countDown();
      }
    }, 0, 1, TimeUnit.MILLISECONDS);
    done.await();
    ticks.cancel(false);
    producer.flush();
  }

  @Override
  public void close() {
    timer.shutdownNow();
    producer.close();
  }
}
