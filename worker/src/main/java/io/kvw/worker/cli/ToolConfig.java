package io.kvw.worker.cli;

import io.kvw.worker.config.WorkerConfig;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import picocli.CommandLine.Option;

/**
 * The {@code --config FILE} of the user's tools ({@code submit}, {@code tail},
 * {@code dlq replay}): the worker's own config file, read the way {@code run} reads it, for
 * the brokers, topics and {@code kafka.*} security settings.
 */
final class ToolConfig {
  @Option(names = "--config", required = true, paramLabel = "FILE",
      description = "The worker's properties file (brokers, topics, kafka.* security); "
          + "KVW_* variables override it.")
  Path file;

  /** @throws io.kvw.worker.config.ConfigException naming the bad key */
  WorkerConfig load() {
    return WorkerConfig.load(file, System.getenv());
  }

  /** Kafka client properties: every {@code kafka.*} pass-through key plus the brokers. */
  static Map<String, Object> kafkaProperties(WorkerConfig config, String clientId) {
    Map<String, Object> p = new HashMap<>(config.kafkaPassThrough());
    p.put("bootstrap.servers", config.get(WorkerConfig.KAFKA_BOOTSTRAP));
    p.putIfAbsent("client.id", clientId);
    return p;
  }

  /**
   * Every partition of {@code topic}.
   *
   * @throws IllegalStateException naming the topic when it does not exist
   */
  static List<TopicPartition> partitions(Consumer<?, ?> consumer, String topic) {
    List<PartitionInfo> infos = consumer.partitionsFor(topic);
    if (infos == null || infos.isEmpty()) {
      throw new IllegalStateException("the topic " + topic + " does not exist");
    }
    return infos.stream().map(i -> new TopicPartition(topic, i.partition())).toList();
  }
}
