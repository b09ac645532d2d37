package io.kvw.worker.cli;

import io.kvw.common.DlqHeaders;
import io.kvw.worker.config.ConfigException;
import io.kvw.worker.config.WorkerConfig;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Re-sends dead-lettered records to the requests topic: the original key and value byte for
 * byte, the original headers without the {@code dlq.*} ones.
 *
 * <p>Not twice: the consumer group {@code <kafka.group.id>.dlq-replay} records how far through
 * the DLQ replay has looked. Each run reads from there to the end the DLQ had when the run
 * started, replays the records that match the filters, and commits past every record it looked
 * at, after the sends are acknowledged. A record a filter left out is passed over for good
 * (run without the filter and with {@code --from-beginning} to reach it); {@code --limit} stops
 * looking at the Nth match, so the records after it are still ahead for the next run.
 * {@code --dry-run} sends and commits nothing.
 */
@Command(name = "replay", mixinStandardHelpOptions = true,
    description = {"Re-send dead-lettered records to the requests topic with their original "
        + "key, value and headers (minus dlq.*).",
        "Progress is kept in the consumer group <kafka.group.id>.dlq-replay, so a record is "
        + "not replayed twice; records a filter leaves out are passed over."},
    sortOptions = false)
final class DlqReplayCommand implements Callable<Integer> {
  private static final Pattern AGO = Pattern.compile("(\\d+)\\s*(s|m|h|d)");
  static final String GROUP_SUFFIX = ".dlq-replay";

  @Mixin
  ToolConfig config;

  @Option(names = "--type", paramLabel = "T", split = ",",
      description = "Only records of these error types (dlq.error.type), e.g. "
          + "retries_exhausted.")
  Set<String> types = new HashSet<>();

  @Option(names = "--since", paramLabel = "TIME", converter = SinceConverter.class,
      description = "Only records dead-lettered at or after TIME: an RFC 3339 instant "
          + "(2026-01-31T12:00:00Z) or an age (30m, 2h, 1d).")
  Instant since;

  @Option(names = "--limit", paramLabel = "N", defaultValue = "0",
      description = "Replay at most N records (default: all that match).")
  int limit;

  @Option(names = "--dry-run", description = "Show what would be sent; send and commit "
      + "nothing.")
  boolean dryRun;

  @Option(names = "--from-beginning", description = "Ignore the replay group's progress and "
      + "look at the whole DLQ again (may replay records a second time).")
  boolean fromBeginning;

  PrintStream out = System.out;

  @Override
  public Integer call() throws Exception {
    WorkerConfig cfg;
    try {
      cfg = config.load();
    } catch (ConfigException e) {
      System.err.println("config error: " + e.getMessage());
      return Main.EXIT_CONFIG;
    }
    String dlq = cfg.get(WorkerConfig.TOPIC_DLQ);
    String requests = cfg.get(WorkerConfig.TOPIC_REQUESTS);
    String group = cfg.get(WorkerConfig.KAFKA_GROUP) + GROUP_SUFFIX;
    Map<String, Object> c = ToolConfig.kafkaProperties(cfg, "kvw-dlq-replay");
    c.put(ConsumerConfig.GROUP_ID_CONFIG, group);
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    Map<String, Object> p = ToolConfig.kafkaProperties(cfg, "kvw-dlq-replay");
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.putIfAbsent(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 16 * 1024 * 1024);
    try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(c,
            new ByteArrayDeserializer(), new ByteArrayDeserializer());
        KafkaProducer<byte[], byte[]> producer = dryRun ? null : new KafkaProducer<>(p,
            new ByteArraySerializer(), new ByteArraySerializer())) {
      List<TopicPartition> partitions;
      try {
        partitions = ToolConfig.partitions(consumer, dlq);
      } catch (IllegalStateException e) {
        System.err.println(e.getMessage());
        return Main.EXIT_UNREACHABLE;
      }
      consumer.assign(partitions);
      Map<TopicPartition, OffsetAndMetadata> committed = fromBeginning ? Map.of()
          : consumer.committed(new HashSet<>(partitions));
      Map<TopicPartition, Long> next = new HashMap<>();
      for (TopicPartition tp : partitions) {
        OffsetAndMetadata at = committed.get(tp);
        if (at == null) {
          consumer.seekToBeginning(List.of(tp));
        } else {
          consumer.seek(tp, at.offset());
        }
        next.put(tp, consumer.position(tp));
      }
      Map<TopicPartition, Long> end = consumer.endOffsets(partitions);
      List<Future<RecordMetadata>> sends = new ArrayList<>();
      int read = 0;
      int matched = 0;
      scan:
      while (partitions.stream().anyMatch(tp -> next.get(tp) < end.get(tp))) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(500))) {
          TopicPartition tp = new TopicPartition(r.topic(), r.partition());
          if (r.offset() >= end.get(tp)) {
            continue; // dead-lettered after this run started: the next run's
          }
          if (limit > 0 && matched >= limit) {
            break scan;
          }
          read++;
          next.put(tp, r.offset() + 1);
          if (!matches(r)) {
            continue;
          }
          matched++;
          if (dryRun) {
            out.println("would replay " + describe(r));
          } else {
            sends.add(producer.send(new ProducerRecord<>(requests, null, r.key(), r.value(),
                withoutDlqHeaders(r))));
          }
        }
        // the consumer's position also moves past offsets that hold no record to return
        // (transaction markers, records removed by retention while this run reads): without
        // it the scan would wait for them forever
        for (TopicPartition tp : partitions) {
          next.put(tp, Math.max(next.get(tp), Math.min(consumer.position(tp), end.get(tp))));
        }
      }
      if (dryRun) {
        out.printf("dry run: would replay %d of %d dead-lettered records looked at, to %s; "
            + "nothing sent%n", matched, read, requests);
        return 0;
      }
      producer.flush();
      for (Future<RecordMetadata> f : sends) {
        try {
          f.get();
        } catch (ExecutionException e) {
          System.err.println("replay failed, progress not committed (a rerun re-sends this "
              + "batch): " + e.getCause().getMessage());
          return 1;
        }
      }
      Map<TopicPartition, OffsetAndMetadata> commit = new HashMap<>();
      next.forEach((tp, offset) -> commit.put(tp, new OffsetAndMetadata(offset)));
      consumer.commitSync(commit);
      out.printf("replayed %d of %d dead-lettered records looked at, to %s (progress kept in "
          + "consumer group %s)%n", matched, read, requests, group);
      return 0;
    }
  }

  private boolean matches(ConsumerRecord<byte[], byte[]> r) {
    if (!types.isEmpty() && !types.contains(header(r, DlqHeaders.ERROR_TYPE))) {
      return false;
    }
    return since == null || r.timestamp() >= since.toEpochMilli();
  }

  private static RecordHeaders withoutDlqHeaders(ConsumerRecord<byte[], byte[]> r) {
    RecordHeaders headers = new RecordHeaders();
    for (Header h : r.headers()) {
      if (!h.key().startsWith("dlq.")) {
        headers.add(h);
      }
    }
    return headers;
  }

  /** Where a record came from and why it failed; never its content. */
  private static String describe(ConsumerRecord<byte[], byte[]> r) {
    return r.topic() + "/" + r.partition() + "@" + r.offset() + "  "
        + header(r, DlqHeaders.ERROR_TYPE) + "  at " + Instant.ofEpochMilli(r.timestamp())
        + "  from " + header(r, DlqHeaders.ORIGINAL_TOPIC) + "/"
        + header(r, DlqHeaders.ORIGINAL_PARTITION) + "@" + header(r, DlqHeaders.ORIGINAL_OFFSET)
        + "  " + (r.value() == null ? 0 : r.value().length) + " bytes";
  }

  private static String header(ConsumerRecord<byte[], byte[]> r, String name) {
    Header h = r.headers().lastHeader(name);
    return h == null || h.value() == null ? "-" : new String(h.value(), StandardCharsets.UTF_8);
  }

  /** An RFC 3339 instant, or an age such as {@code 30m}, {@code 2h}, {@code 1d}. */
  static final class SinceConverter implements ITypeConverter<Instant> {
    @Override
    public Instant convert(String value) {
      Matcher m = AGO.matcher(value.trim().toLowerCase(Locale.ROOT));
      if (m.matches()) {
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          case "h" -> Duration.ofHours(n);
          default -> Duration.ofDays(n);
        };
        return Instant.now().minus(d);
      }
      try {
        return OffsetDateTime.parse(value.trim()).toInstant();
      } catch (DateTimeParseException e) {
        throw new IllegalArgumentException("--since must be an RFC 3339 instant "
            + "(2026-01-31T12:00:00Z) or an age (30m, 2h, 1d), got " + value);
      }
    }
  }
}
