package io.kvw.testkit.kafka;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.stream.Stream;
import kafka.server.KafkaConfig;
import kafka.server.KafkaRaftServer;
import kafka.tools.StorageTool;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.utils.Time;

/**
 * A single-node Apache Kafka broker (KRaft, combined broker and controller) running in this
 * JVM, for tests, the demo and benchmarks; no Docker needed. It can be stopped and started
 * again on the same port and log directory, so a test can take the broker away and bring it
 * back with its data.
 */
public final class EmbeddedKafka implements AutoCloseable {
  private final Path logDir;
  private final boolean ownsLogDir;
  private final int port;
  private final int controllerPort;
  private final Map<String, String> extra;
  private final String clusterId = Uuid.randomUuid().toString();
  private KafkaRaftServer server;
  private boolean formatted;

  private EmbeddedKafka(Builder b) {
    try {
      this.ownsLogDir = b.logDir == null;
      this.logDir = b.logDir != null ? b.logDir : Files.createTempDirectory("kvw-kafka");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    this.port = b.port != 0 ? b.port : LoopbackPorts.free();
    this.controllerPort = LoopbackPorts.free();
    this.extra = Map.copyOf(b.properties);
    this.formatted = Files.exists(logDir.resolve("meta.properties"));
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Options for an {@link EmbeddedKafka}. */
  public static final class Builder {
    private Path logDir;
    private int port;
    private final Map<String, String> properties = new TreeMap<>();

    /** Where the broker keeps its data; default a temporary directory deleted on close. */
    public Builder logDir(Path dir) {
      this.logDir = dir;
      return this;
    }

    /** The client port; 0 (default) picks a free one. */
    public Builder port(int port) {
      if (port < 0 || port > 65_535) {
        throw new IllegalArgumentException("port must be 0 (any free port) to 65535: " + port);
      }
      this.port = port;
      return this;
    }

    /** Any broker setting, e.g. {@code log.retention.ms}. */
    public Builder brokerProperty(String key, String value) {
      properties.put(key, value);
      return this;
    }

    public EmbeddedKafka build() {
      return new EmbeddedKafka(this);
    }
  }

  private Properties serverProperties() {
    Properties p = new Properties();
    p.put("process.roles", "broker,controller");
    p.put("node.id", "1");
    p.put("controller.quorum.voters", "1@127.0.0.1:" + controllerPort);
    p.put("listeners", "PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:"
        + controllerPort);
    p.put("advertised.listeners", "PLAINTEXT://127.0.0.1:" + port);
    p.put("listener.security.protocol.map", "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT");
    p.put("controller.listener.names", "CONTROLLER");
    p.put("inter.broker.listener.name", "PLAINTEXT");
    p.put("log.dirs", logDir.toString());
    // one node: every internal topic has one replica, and groups start without delay
    p.put("offsets.topic.replication.factor", "1");
    p.put("offsets.topic.num.partitions", "5");
    p.put("transaction.state.log.replication.factor", "1");
    p.put("transaction.state.log.min.isr", "1");
    // share groups (KIP-932) are on by default in Kafka 4.2+ (feature share.version); their
    // state topic needs one replica here, and members join within a second, not the default
    // five. The lower minimum lock lets a test expire or renew locks in seconds.
    p.put("share.coordinator.state.topic.replication.factor", "1");
    p.put("share.coordinator.state.topic.min.isr", "1");
    p.put("group.share.min.heartbeat.interval.ms", "500");
    p.put("group.share.heartbeat.interval.ms", "1000");
    p.put("group.share.min.record.lock.duration.ms", "1000");
    p.put("min.insync.replicas", "1");
    p.put("group.initial.rebalance.delay.ms", "0");
    p.put("num.partitions", "3");
    p.put("auto.create.topics.enable", "true");
    p.put("log.flush.interval.messages", Long.toString(Long.MAX_VALUE));
    p.put("num.network.threads", "2");
    p.put("num.io.threads", "4");
    p.putAll(extra);
    return p;
  }

  /** Starts the broker (formatting its log directory the first time); returns when ready. */
  public synchronized EmbeddedKafka start() {
    if (server != null) {
      return this;
    }
    Properties props = serverProperties();
    if (!formatted) {
      format(props);
      formatted = true;
    }
    KafkaRaftServer starting = new KafkaRaftServer(KafkaConfig.fromProps(props, false),
        Time.SYSTEM);
    try {
      starting.startup();
      awaitReady(Duration.ofSeconds(60));
    } catch (RuntimeException e) {
      // leave nothing half-started behind, so that start() can be tried again
      shutdown(starting);
      throw e;
    }
    server = starting;
    return this;
  }

  private void format(Properties props) {
    try {
      Path config = Files.createTempFile("kvw-kafka", ".properties");
      try (var out = Files.newBufferedWriter(config)) {
        props.store(out, null);
      }
      ByteArrayOutputStream output = new ByteArrayOutputStream();
      int code = StorageTool.execute(new String[] {"format", "-t", clusterId, "-c",
          config.toString(), "--ignore-formatted"}, new PrintStream(output, true,
          StandardCharsets.UTF_8));
      Files.deleteIfExists(config);
      if (code != 0) {
        throw new IllegalStateException("formatting " + logDir + " failed: " + output);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private void awaitReady(Duration timeout) {
    long deadline = System.nanoTime() + timeout.toNanos();
    Exception last = null;
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrapServers(),
        "request.timeout.ms", "2000", "default.api.timeout.ms", "5000"))) {
      while (System.nanoTime() < deadline) {
        try {
          if (!admin.describeCluster().nodes().get().isEmpty()) {
            return;
          }
        } catch (ExecutionException e) {
          last = e;
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while waiting for the broker", e);
        }
        sleep(100);
      }
    }
    throw new IllegalStateException("the embedded broker did not become ready in "
        + timeout.toSeconds() + " s", last);
  }

  /** {@code 127.0.0.1:PORT}. */
  public String bootstrapServers() {
    return "127.0.0.1:" + port;
  }

  public int port() {
    return port;
  }

  public Path logDir() {
    return logDir;
  }

  /** Creates a topic (one replica) and waits until it is usable; an existing one is kept. */
  public void createTopic(String name, int partitions) {
    createTopic(bootstrapServers(), name, partitions);
  }

  /** {@link #createTopic(String, int)} on any broker, e.g. one in its own process. */
  public static void createTopic(String bootstrap, String name, int partitions) {
    try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrap))) {
      try {
        admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1))).all().get();
      } catch (ExecutionException e) {
        if (!(e.getCause() instanceof TopicExistsException)) {
          throw new IllegalStateException("creating topic " + name + " failed", e.getCause());
        }
      }
      long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
      while (System.nanoTime() < deadline) {
        try {
          var d = admin.describeTopics(List.of(name)).allTopicNames().get().get(name);
          if (d.partitions().size() == partitions && d.partitions().stream()
              .allMatch(p -> p.leader() != null && !p.leader().isEmpty())) {
            return;
          }
        } catch (ExecutionException e) {
          // metadata not propagated yet
        }
        sleep(50);
      }
      throw new IllegalStateException("topic " + name + " did not become ready");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  /** Stops the broker, keeping its data; {@link #start()} brings it back on the same port. */
  public synchronized void stop() {
    if (server == null) {
      return;
    }
    shutdown(server);
    server = null;
  }

  private static void shutdown(KafkaRaftServer s) {
    s.shutdown();
    s.awaitShutdown();
  }

  @Override
  public synchronized void close() {
    stop();
    if (ownsLogDir) {
      deleteRecursively(logDir);
    }
  }

  private static void deleteRecursively(Path dir) {
    if (!Files.exists(dir)) {
      return;
    }
    try (Stream<Path> paths = Files.walk(dir)) {
      paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException e) {
      // a temp dir left behind is not worth failing for
    }
  }

  private static void sleep(long ms) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
