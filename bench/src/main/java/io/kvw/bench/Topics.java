package io.kvw.bench;

import io.kvw.testkit.kafka.EmbeddedKafka;
import io.kvw.testkit.sim.VllmSimulator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/** A benchmark run's four topics, named after the run, and a worker config pointing at them. */
final class Topics {
  private Topics() {}

  /** Creates {@code NAME.requests} with {@code partitions}, and the three output topics. */
  static void create(EmbeddedKafka kafka, String name, int partitions) {
    create(kafka::createTopic, name, partitions);
  }

  /** The same on any broker, given how it creates a topic ({@link BrokerProcess}). */
  static void create(BiConsumer<String, Integer> createTopic, String name, int partitions) {
    for (String t : List.of(".requests", ".results", ".dlq", ".stream")) {
      createTopic.accept(name + t, t.equals(".requests") ? partitions
          : Math.min(partitions, 6));
    }
  }

  /** Worker settings for a run: its topics, its group, the simulator; defaults otherwise. */
  static Map<String, String> workerConfig(EmbeddedKafka kafka, VllmSimulator sim, String name) {
    return workerConfig(kafka.bootstrapServers(), sim, name);
  }

  /** The same for a broker at {@code bootstrap}. */
  static Map<String, String> workerConfig(String bootstrap, VllmSimulator sim, String name) {
    return workerConfig(bootstrap, sim.target(), name);
  }

  /** The same for a simulator (or server) at {@code vllmTarget}. */
  static Map<String, String> workerConfig(String bootstrap, String vllmTarget, String name) {
    Map<String, String> c = new HashMap<>();
    c.put("kafka.bootstrap.servers", bootstrap);
    c.put("kafka.group.id", name + "-workers");
    c.put("topics.requests", name + ".requests");
    c.put("topics.results", name + ".results");
    c.put("topics.dlq", name + ".dlq");
    c.put("topics.stream", name + ".stream");
    c.put("vllm.target", vllmTarget);
    c.put("worker.id", name + "-worker");
    return c;
  }
}
