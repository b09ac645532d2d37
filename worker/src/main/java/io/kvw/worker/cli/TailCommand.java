package io.kvw.worker.cli;

import io.kvw.worker.config.ConfigException;
import io.kvw.worker.config.WorkerConfig;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Follows the results topic and prints one line per result. Reads every partition without a
 * consumer group (it commits nothing and disturbs no one), from the end unless asked.
 */
@Command(name = "tail", mixinStandardHelpOptions = true,
    description = {"Follow the results topic: one line per result (id, ok or error type, "
        + "tokens in/out, worker time). Prompts and completions are private: the text is shown "
        + "only with --show-text."},
    sortOptions = false)
final class TailCommand implements Callable<Integer> {
  @Mixin
  ToolConfig config;

  @Option(names = "--errors", description = "Only error results.")
  boolean errorsOnly;

  @Option(names = "--from-beginning", description = "Start at the oldest result kept, "
      + "not at the end.")
  boolean fromBeginning;

  @Option(names = "--show-text", description = "Also print the first characters of the text.")
  boolean showText;

  @Option(names = "--max", paramLabel = "N", defaultValue = "0",
      description = "Exit after printing N lines (default: follow until interrupted).")
  long max;

  PrintStream out = System.out;

  @Override
  public Integer call() {
    WorkerConfig cfg;
    try {
      cfg = config.load();
    } catch (ConfigException e) {
      System.err.println("config error: " + e.getMessage());
      return Main.EXIT_CONFIG;
    }
    Map<String, Object> p = ToolConfig.kafkaProperties(cfg, "kvw-tail");
    p.remove(ConsumerConfig.GROUP_ID_CONFIG);
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    String topic = cfg.get(WorkerConfig.TOPIC_RESULTS);
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(p,
        new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
      List<TopicPartition> partitions;
      try {
        partitions = ToolConfig.partitions(consumer, topic);
      } catch (IllegalStateException e) {
        System.err.println(e.getMessage());
        return Main.EXIT_UNREACHABLE;
      }
      consumer.assign(partitions);
      if (fromBeginning) {
        consumer.seekToBeginning(partitions);
      } else {
        consumer.seekToEnd(partitions);
      }
      long printed = 0;
      while (max <= 0 || printed < max) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          ResultView view = ResultView.parse(r.value());
          if (errorsOnly && !view.isError()) {
            continue;
          }
          out.println(view.line(showText));
          out.flush();
          if (max > 0 && ++printed >= max) {
            break;
          }
        }
      }
    }
    return 0;
  }
}
