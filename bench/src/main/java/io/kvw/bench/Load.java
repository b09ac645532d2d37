package io.kvw.bench;

import java.nio.charset.StandardCharsets;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/** Produces request records as fast as the broker takes them. */
final class Load {
  private Load() {}

  /** Writes {@code n} small requests ({@code "b-<i>"}) to {@code topic}; returns seconds taken. */
  static double produce(String bootstrap, String topic, int n, int maxTokens) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("linger.ms", "20");
    p.put("batch.size", Integer.toString(256 * 1024));
    p.put("compression.type", "lz4");
    p.put("acks", "1");
    long start = System.nanoTime();
    try (KafkaProducer<byte[], byte[]> producer = new KafkaProducer<>(p,
        new ByteArraySerializer(), new ByteArraySerializer())) {
      // spread evenly: unkeyed records go to partitions a whole batch at a time, and a few
      // hundred-kilobyte batches can leave one partition with a fraction of another's backlog,
      // which shows up as that partition's worker running dry
      int partitions = producer.partitionsFor(topic).size();
      for (int i = 0; i < n; i++) {
        String value = "{\"id\":\"b-" + i + "\",\"prompt\":\"bench request number " + i
            + " for the worker\",\"params\":{\"max_tokens\":" + maxTokens + "}}";
        producer.send(new ProducerRecord<>(topic, i % partitions, null,
            value.getBytes(StandardCharsets.UTF_8)));
      }
      producer.flush();
    }
    return (System.nanoTime() - start) / 1e9;
  }
}
