package io.kvw.testkit.kafka;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.consumer.AcknowledgeType;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

class EmbeddedKafkaShareGroupTest {

  private static KafkaShareConsumer<String, String> member(String bootstrap, String group) {
    Map<String, Object> c = new HashMap<>();
    c.put("bootstrap.servers", bootstrap);
    c.put("group.id", group);
    c.put("share.acknowledgement.mode", "explicit");
    c.put("share.acquire.mode", "record_limit");
    c.put("max.poll.records", "5");
    return new KafkaShareConsumer<>(c, new StringDeserializer(), new StringDeserializer());
  }

  /** Accepts what a poll returns, except v0 on its first delivery, which is released. */
  private static void take(KafkaShareConsumer<String, String> member, List<String> taken,
      List<Short> v0Deliveries) throws InterruptedException {
    for (ConsumerRecord<String, String> r : member.poll(Duration.ofMillis(100))) {
      if (r.value().equals("v0")) {
        v0Deliveries.add(r.deliveryCount().orElseThrow());
        if (v0Deliveries.size() == 1) {
          member.acknowledge(r, AcknowledgeType.RELEASE); // the broker delivers it again
          continue;
        }
      }
      taken.add(r.value());
      member.acknowledge(r, AcknowledgeType.ACCEPT);
      Thread.sleep(10); // slow enough that the other member gets its turn
    }
  }

  @Test
  void twoMembersShareOnePartitionAndAReleasedRecordComesBackWithItsDeliveryCounted()
      throws Exception {
    try (EmbeddedKafka kafka = EmbeddedKafka.builder().build().start()) {
      kafka.createTopic("work", 1);
      try (Admin admin = Admin.create(Map.of("bootstrap.servers", kafka.bootstrapServers()))) {
        // a share group starts at the latest record unless told otherwise
        admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.GROUP,
            "workers"), List.of(new AlterConfigOp(new ConfigEntry("share.auto.offset.reset",
            "earliest"), AlterConfigOp.OpType.SET)))).all().get();
      }
      Properties p = new Properties();
      p.put("bootstrap.servers", kafka.bootstrapServers());
      try (KafkaProducer<String, String> producer = new KafkaProducer<>(p,
          new StringSerializer(), new StringSerializer())) {
        for (int i = 0; i < 40; i++) {
          producer.send(new ProducerRecord<>("work", "k" + i, "v" + i));
        }
        producer.flush();
      }
      List<String> byA = new ArrayList<>();
      List<String> byB = new ArrayList<>();
      List<Short> v0Deliveries = new ArrayList<>();
      try (var a = member(kafka.bootstrapServers(), "workers");
          var b = member(kafka.bootstrapServers(), "workers")) {
        a.subscribe(List.of("work"));
        b.subscribe(List.of("work"));
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (byA.size() + byB.size() < 40 && System.nanoTime() < deadline) {
          take(a, byA, v0Deliveries);
          take(b, byB, v0Deliveries);
        }
        a.commitSync();
        b.commitSync();
      }
      List<String> all = new ArrayList<>(byA);
      all.addAll(byB);
      assertThat(all).hasSize(40).doesNotHaveDuplicates();
      assertThat(byA).as("member a").isNotEmpty();
      assertThat(byB).as("member b, on the same single partition").isNotEmpty();
      assertThat(v0Deliveries).as("v0's delivery counts: released once, then accepted")
          .containsExactly((short) 1, (short) 2);
    }
  }
}
