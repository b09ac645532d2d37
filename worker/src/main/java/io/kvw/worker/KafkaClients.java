package io.kvw.worker;

import io.kvw.worker.config.WorkerConfig;
import java.time.Duration;
import io.kvw.worker.intake.share.ShareGroupSettings;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.CooperativeStickyAssignor;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.KafkaShareConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Builds the Kafka clients from the config: the worker's own settings first, then every
 * {@code kafka.*} key on top (security, SASL, tuning), except the few the worker must own.
 */
final class KafkaClients {
  private static final Logger log = LoggerFactory.getLogger(KafkaClients.class);

  private KafkaClients() {}

  private static Map<String, Object> common(WorkerConfig config) {
    Map<String, Object> p = new HashMap<>(config.kafkaPassThrough());
    p.put("bootstrap.servers", config.get(WorkerConfig.KAFKA_BOOTSTRAP));
    p.putIfAbsent("client.id", "kvw-" + config.get(WorkerConfig.WORKER_ID));
    return p;
  }

  static KafkaConsumer<byte[], byte[]> consumer(WorkerConfig config, int maxPollRecords) {
    Map<String, Object> p = common(config);
    if (exactlyOnce(config)) {
      // skip aborted records (e.g. a DLQ replayed by a transactional tool), and wait for
      // pending transactional offset commits before reading a partition's position
      p.putIfAbsent(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
    }
    p.put(ConsumerConfig.GROUP_ID_CONFIG, config.get(WorkerConfig.KAFKA_GROUP));
    p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, config.get(WorkerConfig.KAFKA_OFFSET_RESET));
    p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, maxPollRecords);
    // cooperative rebalancing revokes only the partitions that move, so the others keep going
    if (!p.containsKey("group.protocol") || "classic".equals(p.get("group.protocol"))) {
      p.putIfAbsent(ConsumerConfig.PARTITION_ASSIGNMENT_STRATEGY_CONFIG,
          CooperativeStickyAssignor.class.getName());
    }
    return new KafkaConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  /** A share consumer's {@code fetch.max.wait.ms} unless {@code kafka.fetch.max.wait.ms} is set. */
  static final int SHARE_FETCH_MAX_WAIT_MS = 100;

  /** Consumer settings a share consumer refuses (the share group owns them, or has none). */
  private static final List<String> NOT_FOR_SHARE_CONSUMERS = List.of("auto.offset.reset",
      "enable.auto.commit", "auto.commit.interval.ms", "group.instance.id", "isolation.level",
      "partition.assignment.strategy", "session.timeout.ms", "heartbeat.interval.ms",
      "group.protocol", "group.remote.assignor", "interceptor.classes");

  /**
   * One member of the share group {@code kafka.group.id}: explicit acknowledgement, and
   * {@code record_limit} acquisition so a poll acquires at most {@code batch} records (the
   * worker's memory bound) and nothing is prefetched under a ticking lock.
   */
  static KafkaShareConsumer<byte[], byte[]> shareConsumer(WorkerConfig config, int batch,
      int index) {
    Map<String, Object> p = common(config);
    NOT_FOR_SHARE_CONSUMERS.forEach(p::remove);
    p.put("client.id", p.get("client.id") + "-share-" + index);
    p.put(ConsumerConfig.GROUP_ID_CONFIG, config.get(WorkerConfig.KAFKA_GROUP));
    p.put(ConsumerConfig.SHARE_ACKNOWLEDGEMENT_MODE_CONFIG, "explicit");
    p.put(ConsumerConfig.SHARE_ACQUIRE_MODE_CONFIG, "record_limit");
    p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, batch);
    // the broker parks a share fetch it cannot serve at once (another member holds the
    // partition's fetch lock) for up to this long, and a lane holds no records meanwhile;
    // with many members on few partitions the default 500 ms left permits idle
    p.putIfAbsent(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, SHARE_FETCH_MAX_WAIT_MS);
    return new KafkaShareConsumer<>(p, new ByteArrayDeserializer(), new ByteArrayDeserializer());
  }

  /**
   * Reads the share group's settings (and gives a new group the worker's start position);
   * throws {@link StartupException} when the brokers have no share groups.
   */
  static ShareGroupSettings shareGroup(WorkerConfig config, Duration timeout) {
    Map<String, Object> p = common(config);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) Math.max(5_000,
        Math.min(Integer.MAX_VALUE, timeout.toMillis())));
    String reset = config.get(WorkerConfig.KAFKA_OFFSET_RESET);
    try (Admin admin = Admin.create(p)) {
      return ShareGroupSettings.prepare(admin, config.get(WorkerConfig.KAFKA_GROUP),
          "none".equals(reset) ? null : reset, timeout);
    } catch (IllegalStateException e) {
      throw new StartupException(e.getMessage() + " (" + WorkerConfig.INTAKE.name() + ")", e);
    }
  }

  static KafkaProducer<byte[], byte[]> producer(WorkerConfig config) {
    Map<String, Object> p = common(config);
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    // outcomes of one poll go out together: a few ms of linger batches them per partition
    p.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, 5);
    // a dead-lettered record goes out byte for byte, however large the broker let it in
    p.putIfAbsent(ProducerConfig.MAX_REQUEST_SIZE_CONFIG, 16 * 1024 * 1024);
    if (exactlyOnce(config)) {
      // one id per replica: a restarted replica with the same worker.id fences its old self
      // and aborts what it left open at once; others are aborted by the broker after
      // transaction.timeout.ms, holding back read_committed readers until then
      p.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, "kvw-" + config.get(WorkerConfig.KAFKA_GROUP)
          + "-" + config.get(WorkerConfig.WORKER_ID));
      p.putIfAbsent(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, (int) Math.max(30_000,
          4 * config.get(WorkerConfig.COMMIT_INTERVAL).toMillis()));
    }
    return new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
  }

  static boolean exactlyOnce(WorkerConfig config) {
    return config.get(WorkerConfig.DELIVERY) == WorkerConfig.Delivery.EXACTLY_ONCE;
  }

  /**
   * Waits until the brokers answer, logging once that it waits; throws naming the brokers when
   * the start-up timeout passes.
   */
  static void awaitBrokers(WorkerConfig config, Duration timeout) {
    Map<String, Object> p = common(config);
    p.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
    p.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 5_000);
    long deadline = System.nanoTime() + timeout.toNanos();
    boolean logged = false;
    try (Admin admin = Admin.create(p)) {
      while (true) {
        try {
          admin.describeCluster().nodes().get();
          return;
        } catch (Exception e) {
          if (System.nanoTime() > deadline) {
            throw new StartupException("Kafka at " + config.get(WorkerConfig.KAFKA_BOOTSTRAP)
                + " was not reachable within " + timeout.toSeconds() + " s ("
                + WorkerConfig.STARTUP_TIMEOUT.name() + ")");
          }
          if (!logged) {
            log.info("waiting for Kafka at {} (up to {} s)",
                config.get(WorkerConfig.KAFKA_BOOTSTRAP), timeout.toSeconds());
            logged = true;
          }
          sleep(500);
        }
      }
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StartupException("interrupted while waiting for Kafka");
    }
  }
}
