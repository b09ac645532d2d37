package io.kvw.testkit.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class EmbeddedKafkaTest {

  private static List<ConsumerRecord<String, String>> readAll(String bootstrap, String topic,
      String group, int expected) {
    Properties p = new Properties();
    p.put("bootstrap.servers", bootstrap);
    p.put("group.id", group);
    p.put("auto.offset.reset", "earliest");
    p.put("enable.auto.commit", "false");
    List<ConsumerRecord<String, String>> out = new ArrayList<>();
    try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p, new StringDeserializer(),
        new StringDeserializer())) {
      c.subscribe(List.of(topic));
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (out.size() < expected && System.nanoTime() < deadline) {
        c.poll(Duration.ofMillis(200)).forEach(out::add);
      }
      c.commitSync();
    }
    return out;
  }

  @Test
  void aBrokerStoppedAndStartedAgainKeepsItsRecordsAndCommittedOffsets() throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.builder().build().start()) {
      kafka.createTopic("things", 3);
      Properties p = new Properties();
      p.put("bootstrap.servers", kafka.bootstrapServers());
      try (KafkaProducer<String, String> producer = new KafkaProducer<>(p,
          new StringSerializer(), new StringSerializer())) {
        for (int i = 0; i < 1000; i++) {
          producer.send(new ProducerRecord<>("things", "k" + i, "v" + i));
        }
        producer.flush();
      }
      assertThat(readAll(kafka.bootstrapServers(), "things", "g1", 1000)).hasSize(1000);

      String before = kafka.bootstrapServers();
      kafka.stop();
      assertThat(LoopbackPorts.isFree(kafka.port())).as("port closed while stopped").isTrue();
      Thread.sleep(1_000);
      kafka.start();

      String bootstrap = kafka.bootstrapServers();
      assertThat(bootstrap).isEqualTo(before);
      assertThat(readAll(bootstrap, "things", "g2", 1000)).extracting(ConsumerRecord::value)
          .contains("v0", "v999").hasSize(1000);
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
        Map<TopicPartition, OffsetAndMetadata> committed =
            admin.listConsumerGroupOffsets("g1").partitionsToOffsetAndMetadata().get();
        assertThat(committed.values().stream().mapToLong(OffsetAndMetadata::offset).sum())
            .isEqualTo(1000);
      }
    }
  }
}
