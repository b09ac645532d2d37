package io.kvw.client;

import io.kvw.common.InferenceRequest;
import io.kvw.common.InferenceResult;
import io.kvw.common.ResultCodec;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;

/**
 * Sends requests to the requests topic and hands back each one's result as a
 * {@link CompletableFuture}, correlated by request id.
 *
 * <p>Each instance owns one producer and one results consumer. The consumer uses no consumer
 * group: it is assigned every partition of the results topic, positioned at the end before
 * {@link Builder#build()} returns, and reads every result, ignoring ids this instance is not
 * waiting for. So any number of instances (in one process or many) can share a results topic,
 * each seeing its own answers. A future is registered before its request is sent and the
 * consumer is positioned before the first send, so no result can arrive unnoticed ahead of its
 * future. Results of an id nobody waits for (another client's, a duplicate delivery, an answer
 * that came after its timeout) are dropped.
 *
 * <p><b>Bounded:</b> at most {@code maxOutstanding} requests wait for results at once;
 * {@code submit} <i>blocks</i> the caller until a slot frees (as {@code KafkaProducer.send}
 * blocks when its buffer is full). The wait is bounded too: every outstanding request ends
 * within its timeout, when its future fails with a {@link TimeoutException}.
 *
 * <p><b>Ids and keys:</b> results are correlated by the result's {@code custom_id} when it has
 * one (an OpenAI Batch output) and by {@code id} otherwise, so a raw request must carry the one
 * its result will echo. Requests are keyed by their id unless a key is given; the worker keys
 * the result like the request. Two outstanding requests with the same id are refused.
 *
 * <p>Futures are completed on the client's results thread: keep callbacks short or use the
 * {@code *Async} forms. Thread-safe.
 */
public final class InferenceClient implements AutoCloseable {
  private static final Duration PARTITION_REFRESH = Duration.ofSeconds(30);

  private final String requestsTopic;
  private final String resultsTopic;
  private final Duration timeout;
  private final Semaphore slots;
  private final KafkaProducer<byte[], byte[]> producer;
  private final KafkaConsumer<byte[], byte[]> consumer;
  private final Map<String, CompletableFuture<byte[]>> pending = new ConcurrentHashMap<>();
  private final RequestWriter requestWriter = new RequestWriter();
  private final ResultCodec resultCodec = new ResultCodec();
  private final Thread resultsThread;
  private volatile boolean closed;

  private InferenceClient(Builder b) {
    this.requestsTopic = b.requestsTopic;
    this.resultsTopic = b.resultsTopic;
    this.timeout = b.timeout;
    this.slots = new Semaphore(b.maxOutstanding);
    Map<String, Object> common = new HashMap<>(b.kafka);
    common.put("bootstrap.servers", b.bootstrapServers);
    Map<String, Object> p = new HashMap<>(common);
    p.put(ProducerConfig.ACKS_CONFIG, "all");
    p.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
    p.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, 5);
    Map<String, Object> c = new HashMap<>(common);
    c.remove(ConsumerConfig.GROUP_ID_CONFIG);
    c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
    this.producer = new KafkaProducer<>(p, new ByteArraySerializer(), new ByteArraySerializer());
    try {
      this.consumer = new KafkaConsumer<>(c, new ByteArrayDeserializer(),
          new ByteArrayDeserializer());
      List<TopicPartition> partitions = partitions();
      if (partitions.isEmpty()) {
        throw new IllegalStateException("the results topic " + resultsTopic
            + " does not exist or has no partitions");
      }
      consumer.assign(partitions);
      consumer.seekToEnd(partitions);
      partitions.forEach(consumer::position); // resolve now, before anything is sent
    } catch (RuntimeException e) {
      producer.close(Duration.ZERO);
      throw e;
    }
    this.resultsThread = new Thread(this::readResults, "kvw-client-results");
    resultsThread.setDaemon(true);
    resultsThread.start();
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * Sends one of our requests; its future completes with the result or error result. A
   * request without an id is given a random one. Blocks while the outstanding bound is reached.
   */
  public CompletableFuture<InferenceResult> submit(InferenceRequest request) {
    return submit(request, null);
  }

  /** As {@link #submit(InferenceRequest)}, with the record key for partitioning. */
  public CompletableFuture<InferenceResult> submit(InferenceRequest request, byte[] key) {
    InferenceRequest r = request.id() != null ? request : new InferenceRequest(
        "client-" + UUID.randomUUID(), request.model(), request.prompt(), request.messages(),
        request.params(), request.deadline(), request.stream(), request.metadata());
    return send(requestsTopic, r.id(), key, requestWriter.encode(r))
        .thenApply(resultCodec::decode);
  }

  /**
   * Sends a request of any shape (e.g. an OpenAI Batch line) as the given bytes; its future
   * completes with the raw result value. The value must be a JSON object with a
   * {@code custom_id} or an {@code id}, which its result will echo.
   *
   * @throws IllegalArgumentException when the value carries neither
   */
  public CompletableFuture<byte[]> send(byte[] key, byte[] value) {
    return send(requestsTopic, key, value);
  }

  /**
   * As {@link #send(byte[], byte[])}, to the requests topic {@code topic} (e.g. the topic of
   * the worker deployment serving the request's model); the result comes on the shared
   * results topic.
   */
  public CompletableFuture<byte[]> send(String topic, byte[] key, byte[] value) {
    String id = CorrelationId.of(value);
    if (id == null) {
      throw new IllegalArgumentException("the request has no custom_id or id to correlate "
          + "its result by");
    }
    return send(topic, id, key, value);
  }

  /** Requests sent and not yet answered, failed or timed out. */
  public int outstanding() {
    return pending.size();
  }

  private CompletableFuture<byte[]> send(String topic, String id, byte[] key, byte[] value) {
    if (closed) {
      return CompletableFuture.failedFuture(new IllegalStateException("the client is closed"));
    }
    try {
      slots.acquire();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return CompletableFuture.failedFuture(new CancellationException(
          "interrupted while waiting for a free slot"));
    }
    CompletableFuture<byte[]> future = new CompletableFuture<>();
    if (pending.putIfAbsent(id, future) != null) {
      slots.release();
      return CompletableFuture.failedFuture(new IllegalStateException("a request with id "
          + id + " is already outstanding"));
    }
    future.whenComplete((v, e) -> {
      pending.remove(id, future);
      slots.release();
    });
    future.orTimeout(timeout.toMillis(), TimeUnit.MILLISECONDS);
    byte[] recordKey = key != null ? key : id.getBytes(StandardCharsets.UTF_8);
    try {
      producer.send(new ProducerRecord<>(topic, recordKey, value), (md, e) -> {
        if (e != null) {
          future.completeExceptionally(e);
        }
      });
    } catch (RuntimeException e) {
      future.completeExceptionally(e);
    }
    return future;
  }

  private void readResults() {
    long nextRefresh = System.nanoTime() + PARTITION_REFRESH.toNanos();
    try {
      while (!closed) {
        for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
          if (pending.isEmpty()) {
            continue;
          }
          String id = CorrelationId.of(r.value());
          CompletableFuture<byte[]> f = id == null ? null : pending.get(id);
          if (f != null) {
            f.complete(r.value());
          }
        }
        if (System.nanoTime() > nextRefresh) {
          followNewPartitions();
          nextRefresh = System.nanoTime() + PARTITION_REFRESH.toNanos();
        }
      }
    } catch (WakeupException e) {
      // close() woke us
    } finally {
      consumer.close(Duration.ofSeconds(5));
    }
  }

  /** Partitions added to the results topic after start are read from their beginning. */
  private void followNewPartitions() {
    Set<TopicPartition> assigned = consumer.assignment();
    List<TopicPartition> now = partitions();
    List<TopicPartition> added = now.stream().filter(tp -> !assigned.contains(tp)).toList();
    if (!added.isEmpty()) {
      consumer.assign(now);
      consumer.seekToBeginning(added);
    }
  }

  private List<TopicPartition> partitions() {
    List<TopicPartition> out = new ArrayList<>();
    List<PartitionInfo> infos = consumer.partitionsFor(resultsTopic);
    if (infos != null) {
      infos.forEach(i -> out.add(new TopicPartition(i.topic(), i.partition())));
    }
    return out;
  }

  /** Flushes sends, stops reading results and fails every outstanding future. */
  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    producer.close(Duration.ofSeconds(10));
    consumer.wakeup();
    try {
      resultsThread.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (CompletableFuture<byte[]> f : List.copyOf(pending.values())) {
      f.completeExceptionally(new IllegalStateException("the client was closed before the "
          + "result arrived"));
    }
  }

  /** Settings of an {@link InferenceClient}; topics default to the contract's names. */
  public static final class Builder {
    private String bootstrapServers = "localhost:9092";
    private String requestsTopic = "inference.requests";
    private String resultsTopic = "inference.results";
    private final Map<String, Object> kafka = new HashMap<>();
    private int maxOutstanding = 1_000;
    private Duration timeout = Duration.ofMinutes(5);

    private Builder() {}

    public Builder bootstrapServers(String servers) {
      this.bootstrapServers = Objects.requireNonNull(servers);
      return this;
    }

    public Builder requestsTopic(String topic) {
      this.requestsTopic = Objects.requireNonNull(topic);
      return this;
    }

    public Builder resultsTopic(String topic) {
      this.resultsTopic = Objects.requireNonNull(topic);
      return this;
    }

    /** Any Kafka client property (security, SASL, tuning), given to producer and consumer. */
    public Builder kafkaProperty(String key, Object value) {
      kafka.put(key, value);
      return this;
    }

    public Builder kafkaProperties(Map<String, ?> properties) {
      kafka.putAll(properties);
      return this;
    }

    /** Requests waiting for results at once; {@code submit} blocks past it. Default 1000. */
    public Builder maxOutstanding(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("maxOutstanding must be at least 1");
      }
      this.maxOutstanding = n;
      return this;
    }

    /** How long a request may wait for its result; default 5 minutes. */
    public Builder timeout(Duration timeout) {
      if (timeout.isNegative() || timeout.isZero()) {
        throw new IllegalArgumentException("timeout must be positive");
      }
      this.timeout = timeout;
      return this;
    }

    /**
     * Connects, positions the results consumer at the end of every partition, and starts
     * reading.
     *
     * @throws IllegalStateException when the results topic does not exist
     */
    public InferenceClient build() {
      return new InferenceClient(this);
    }
  }
}
