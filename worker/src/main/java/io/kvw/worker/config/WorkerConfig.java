package io.kvw.worker.config;

import java.io.IOException;
import java.io.Reader;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;

/**
 * The worker's configuration: a Java properties file, with every key overridable from the
 * environment. Every key is declared once in {@link #KEYS}; anything else is an error, except
 * {@code kafka.*} keys, which go to the Kafka clients as they are.
 *
 * <p>Environment mapping: {@code KVW_} + the key in upper case with {@code .} and {@code -}
 * turned into {@code _}; e.g. {@code worker.max-in-flight} is {@code KVW_WORKER_MAX_IN_FLIGHT}
 * and {@code kafka.security.protocol} is {@code KVW_KAFKA_SECURITY_PROTOCOL}. The environment
 * wins over the file.
 */
public final class WorkerConfig {

  public static final String ENV_PREFIX = "KVW_";
  private static final String KAFKA_PREFIX = "kafka.";
  /** A {@code vllm.target} starting so is a DNS name re-resolved at run time. */
  public static final String DNS_TARGET_SCHEME = "dns:///";

  public static final ConfigKey<String> KAFKA_BOOTSTRAP = ConfigKey.of("kafka.bootstrap.servers",
      "localhost:9092", "Kafka brokers. Any `kafka.*` key is passed to the Kafka clients as is "
          + "(security, SASL, tuning).", Parsers.nonEmpty());
  public static final ConfigKey<String> KAFKA_GROUP = ConfigKey.of("kafka.group.id",
      "inference-workers", "Consumer group shared by all replicas (the share group with "
          + "`worker.intake=share`).", Parsers.nonEmpty());
  public static final ConfigKey<String> KAFKA_OFFSET_RESET = ConfigKey.of(
      "kafka.auto.offset.reset", "earliest", "Where a new group starts: `earliest` so nothing "
          + "produced before the first start is skipped.", s -> {
        if (!List.of("earliest", "latest", "none").contains(s)) {
          throw new IllegalArgumentException("must be earliest, latest or none");
        }
        return s;
      });
  public static final ConfigKey<String> TOPIC_REQUESTS = ConfigKey.of("topics.requests",
      "inference.requests", "Topic the worker reads requests from.", Parsers.nonEmpty());
  public static final ConfigKey<Map<String, String>> TOPIC_REQUESTS_BY_MODEL = ConfigKey.of(
      "topics.requests.by-model", "", "For the tools (`submit`): the requests topic of each "
          + "model, as `model=topic` pairs separated by commas (each model has its own worker "
          + "deployment); a line naming another model, or none, goes to `topics.requests`. "
          + "The worker itself reads `topics.requests` only.", Parsers.pairs());
  public static final ConfigKey<String> TOPIC_RESULTS = ConfigKey.of("topics.results",
      "inference.results", "Topic for results and error results.", Parsers.nonEmpty());
  public static final ConfigKey<String> TOPIC_DLQ = ConfigKey.of("topics.dlq",
      "inference.requests.dlq", "Dead-letter topic: the original record plus `dlq.*` headers.",
      Parsers.nonEmpty());
  public static final ConfigKey<String> TOPIC_STREAM = ConfigKey.of("topics.stream",
      "inference.results.stream", "Partial outputs of requests with `\"stream\": true`.",
      Parsers.nonEmpty());
  public static final ConfigKey<List<String>> VLLM_TARGET = ConfigKey.of("vllm.target",
      "localhost:50051", "`host:port` of `vllm serve MODEL --grpc`; a comma-separated list for "
          + "several replicas of the same model; or `dns:///NAME:PORT` (e.g. a headless "
          + "Service, `dns:///vllm-headless.ns.svc:50051`): every address of `NAME` is a "
          + "replica, re-resolved every `vllm.dns.refresh-interval`.", Parsers.hostPorts());
  public static final ConfigKey<Duration> VLLM_DNS_REFRESH = ConfigKey.of(
      "vllm.dns.refresh-interval", "30s", "How often a `dns:///` target is resolved again: "
          + "replicas that joined get calls, replicas that left get no new ones and are "
          + "dropped once their calls finish.", Parsers.durationIn(Duration.ofMillis(100),
          Duration.ofHours(1)));
  public static final ConfigKey<String> VLLM_MODEL = ConfigKey.of("vllm.model", "",
      "The model name requests may ask for; empty: the server's `served_model_name`. "
          + "Requests naming another model end as `unknown_model`.", Parsers.string());
  public static final ConfigKey<String> VLLM_TOKENIZER_PATH = ConfigKey.of(
      "vllm.tokenizer.path", "", "A `tokenizer.json` (or its directory) to decode outputs with; "
          + "empty: fetch the model's tokenizer from the server (`GetTokenizer`).",
      Parsers.string());
  /** Where unset sampling parameters come from. */
  public enum SamplingDefaults { MODEL, NONE }

  public static final ConfigKey<SamplingDefaults> VLLM_SAMPLING_DEFAULTS = ConfigKey.of(
      "vllm.sampling-defaults", "model", "`model`: requests that leave temperature, top_p, "
          + "top_k, min_p or repetition_penalty unset get the model's defaults (its "
          + "`generation_config`, from `GetModelInfo`), as vLLM's OpenAI server does; an "
          + "explicit value, 0 included, always wins. `none`: unset stays unset (vLLM's raw "
          + "defaults: temperature 1, top_p 1, no top_k).",
      Parsers.oneOf(SamplingDefaults.class));
  public static final ConfigKey<Integer> VLLM_CHANNELS = ConfigKey.of(
      "vllm.channels-per-target", "2", "Long-lived HTTP/2 channels per target; calls are "
          + "multiplexed over them.", Parsers.intIn(1, 64));
  public static final ConfigKey<Duration> VLLM_REQUEST_TIMEOUT = ConfigKey.of(
      "vllm.request-timeout", "120s", "Deadline of one backend call (less if the request's "
          + "own deadline is nearer).", Parsers.durationIn(Duration.ofMillis(10),
          Duration.ofHours(1)));
  public static final ConfigKey<Boolean> VLLM_TLS = ConfigKey.of("vllm.tls.enabled", "false",
      "Speak TLS to vLLM (the other `vllm.tls.*` keys choose what to trust and present).",
      Parsers.bool());
  public static final ConfigKey<String> VLLM_TLS_CA = ConfigKey.of("vllm.tls.ca-file", "",
      "PEM file of the CA certificate(s) to trust for vLLM's server certificate; empty: the "
          + "JDK's default trust store.", Parsers.string());
  public static final ConfigKey<String> VLLM_TLS_CERT = ConfigKey.of("vllm.tls.cert-file", "",
      "PEM client certificate chain for mutual TLS; set together with `vllm.tls.key-file`.",
      Parsers.string());
  public static final ConfigKey<String> VLLM_TLS_KEY = ConfigKey.of("vllm.tls.key-file", "",
      "PEM (PKCS#8) private key of the client certificate, for mutual TLS.", Parsers.string());
  public static final ConfigKey<String> VLLM_TLS_SERVER_NAME = ConfigKey.of(
      "vllm.tls.server-name", "", "Name to verify vLLM's certificate against; empty: the host "
          + "of `vllm.target`.", Parsers.string());
  public static final ConfigKey<String> WORKER_ID = ConfigKey.of("worker.id", null,
      "This replica's name, in logs, metrics and the `dlq.worker.id` header. Default: "
          + "`<hostname>-<pid>`.", Parsers.nonEmpty());
  /**
   * A safety cap, well above any one server's running slots (vLLM's {@code max_num_seqs} is 256
   * by default): the adaptive limit must be free to hold the server's slots plus a short queue,
   * which a ceiling equal to the slots forbids (slots then idle between a completion and the
   * next call).
   */
  public static final ConfigKey<Integer> MAX_IN_FLIGHT = ConfigKey.of("worker.max-in-flight",
      "1024", "Concurrent backend calls: the limit with `worker.concurrency=fixed`; with the "
          + "adaptive limit only a safety cap, which need not be tuned (the limit finds the "
          + "server's slots plus a short queue by itself). Never more than "
          + "`worker.max-buffered` when that is set and this is not.", Parsers.intIn(1, 100_000));

  /** How the concurrency limit is set. */
  public enum Concurrency { ADAPTIVE, FIXED }

  public static final ConfigKey<Concurrency> CONCURRENCY = ConfigKey.of("worker.concurrency",
      "adaptive", "`adaptive`: each worker takes its share of what vLLM can run (`GetLoads`), or "
          + "follows latency when the server reports no load, between 1 and "
          + "`worker.max-in-flight`; `fixed`: always `worker.max-in-flight`.",
      Parsers.oneOf(Concurrency.class));
  private static final int DEFAULT_MAX_BUFFERED = 1024;
  public static final ConfigKey<Integer> MAX_BUFFERED = ConfigKey.of("worker.max-buffered",
      null, "Records held between poll and outcome; above it intake pauses its partitions "
          + "(and keeps polling). Default: 4 × `worker.max-in-flight` when that is set, else 1024.",
      Parsers.intIn(1, 10_000_000));
  public static final ConfigKey<Integer> RETRY_MAX_ATTEMPTS = ConfigKey.of(
      "worker.retry.max-attempts", "3", "Backend calls per record for transient errors "
          + "(DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, INTERNAL) before `retries_exhausted`.",
      Parsers.intIn(1, 100));
  public static final ConfigKey<Duration> RETRY_BACKOFF = ConfigKey.of("worker.retry.backoff",
      "100ms", "First retry delay; doubles per attempt, with jitter, up to 5 s.",
      Parsers.durationIn(Duration.ZERO, Duration.ofMinutes(1)));
  public static final ConfigKey<Duration> DRAIN_TIMEOUT = ConfigKey.of("worker.drain-timeout",
      "30s", "On SIGTERM or partition revocation, how long in-flight records may finish "
          + "before they are cancelled (and left uncommitted).",
      Parsers.durationIn(Duration.ZERO, Duration.ofHours(1)));
  public static final ConfigKey<Duration> STARTUP_TIMEOUT = ConfigKey.of(
      "worker.startup-timeout", "60s", "How long start-up waits for the broker and vLLM.",
      Parsers.durationIn(Duration.ofSeconds(1), Duration.ofHours(1)));
  public static final ConfigKey<Duration> STARTUP_WARMUP = ConfigKey.of(
      "worker.startup-warmup", "2s", "Time spent before intake opens running synthetic "
          + "records through decoding, prompt preparation and result encoding, and real "
          + "one-token `Generate` calls (`worker.startup-warmup-calls`; nothing is read from or "
          + "written to Kafka), so a cold JVM has compiled that code when the first records "
          + "arrive; it stops early after 20,000 records. `0s` skips it.",
      Parsers.durationIn(Duration.ZERO, Duration.ofMinutes(1)));
  public static final ConfigKey<Integer> STARTUP_WARMUP_CALLS = ConfigKey.of(
      "worker.startup-warmup-calls", "1000", "At most this many `Generate` calls during "
          + "`worker.startup-warmup`, 64 at a time: a two-word prompt, `max_tokens=1`, so "
          + "the gRPC path is compiled before records use it. `0` sends none (vLLM then sees "
          + "nothing from the warm-up).", Parsers.intIn(0, 1_000_000));
  public static final ConfigKey<Duration> COMMIT_INTERVAL = ConfigKey.of(
      "worker.commit-interval", "100ms", "How often completed offsets (with their offset map) "
          + "are committed; with `worker.delivery=exactly-once`, how long each transaction "
          + "runs. Short, because what finished since the last commit is redone after a crash "
          + "(Kafka Streams uses 100 ms with exactly-once too).", Parsers.durationIn(Duration.ofMillis(10),
          Duration.ofMinutes(5)));
  /** What a results consumer may rely on. */
  public enum Delivery { AT_LEAST_ONCE, EXACTLY_ONCE }

  public static final ConfigKey<Delivery> DELIVERY = ConfigKey.of("worker.delivery",
      "at-least-once", "`at-least-once`: outcomes are published, then offsets committed (with "
          + "the offset map); a crash may publish an outcome twice. `exactly-once`: outcomes "
          + "and offsets are committed in one Kafka transaction per commit interval "
          + "(`transactional.id` = `kvw-<kafka.group.id>-<worker.id>`); `read_committed` "
          + "consumers see each outcome once. See *Delivery guarantees*.",
      Parsers.oneOf(Delivery.class));
  /** Where records come from. */
  public enum IntakeMode { CONSUMER, SHARE }

  public static final ConfigKey<IntakeMode> INTAKE = ConfigKey.of("worker.intake", "consumer",
      "`consumer`: a consumer group (`kafka.group.id`); at most one busy replica per partition, "
          + "offsets committed past finished records. `share`: a share group of the same name "
          + "(Kafka 4.2+, KIP-932); any number of replicas take records from the same "
          + "partitions and acknowledge each record on its own. See *Choosing the intake*.",
      Parsers.oneOf(IntakeMode.class));
  public static final ConfigKey<Integer> SHARE_CONSUMERS = ConfigKey.of(
      "worker.share.consumers", "4", "With `worker.intake=share`: share consumers per worker, "
          + "each a group member with its own share of `worker.max-buffered`. A consumer "
          + "fetches again only once every record it holds is acknowledged, so several keep "
          + "records coming while a slow one finishes.", Parsers.intIn(1, 64));
  public static final ConfigKey<Integer> OFFSET_MAP_MAX_BYTES = ConfigKey.of(
      "worker.offset-map.max-bytes", "4096", "Largest offset map stored in a commit's metadata: "
          + "the broker's `offset.metadata.max.bytes`. A longer map is cut (finished records "
          + "above the cut run again after a rebalance); 0 stores no map.",
      Parsers.intIn(0, 1024 * 1024));
  public static final ConfigKey<Integer> MAX_REQUEST_BYTES = ConfigKey.of(
      "worker.max-request-bytes", "1048576", "Largest request value; a larger record ends as "
          + "`invalid_request` without being parsed.", Parsers.intIn(64, 64 * 1024 * 1024));
  public static final ConfigKey<Integer> HTTP_PORT = ConfigKey.of("http.port", "8080",
      "Port of `/metrics` (Prometheus), `/health/live`, `/health/ready`; 0 picks a free port, "
          + "-1 turns the endpoint off.", Parsers.intIn(-1, 65535));

  /** Levels of the worker's own loggers. */
  public enum LogLevel { ERROR, WARN, INFO, DEBUG, TRACE }

  public static final ConfigKey<LogLevel> LOG_LEVEL = ConfigKey.of("log.level", "info",
      "Level of the worker's own loggers (`io.kvw`): `error`, `warn`, `info`, `debug` or "
          + "`trace`. Prompts and completions are never logged at `info`.",
      Parsers.oneOf(LogLevel.class));

  /** How log lines are written. */
  public enum LogFormat { TEXT, JSON }

  public static final ConfigKey<LogFormat> LOG_FORMAT = ConfigKey.of("log.format", "text",
      "`text`: readable lines; `json`: one JSON object per line, with `request_id`, `topic`, "
          + "`partition`, `offset`, `trace_id` and `worker_id` fields on every line about a "
          + "record.", Parsers.oneOf(LogFormat.class));
  public static final ConfigKey<String> METRICS_TENANT_FIELD = ConfigKey.of(
      "metrics.tenant-field", "", "The request `metadata` field whose value labels the "
          + "per-request metrics as `tenant`; empty: every request is `tenant=\"none\"`.",
      Parsers.string());
  public static final ConfigKey<Integer> METRICS_TENANT_MAX = ConfigKey.of(
      "metrics.tenant-max", "100", "Distinct `tenant` label values at most; tenants seen after "
          + "that are counted as `other`.", Parsers.intIn(1, 10_000));

  /** Every declared key, in the order the README documents them. */
  public static final List<ConfigKey<?>> KEYS = List.of(KAFKA_BOOTSTRAP, KAFKA_GROUP,
      KAFKA_OFFSET_RESET, TOPIC_REQUESTS, TOPIC_REQUESTS_BY_MODEL, TOPIC_RESULTS, TOPIC_DLQ, TOPIC_STREAM, VLLM_TARGET,
      VLLM_DNS_REFRESH, VLLM_MODEL, VLLM_TOKENIZER_PATH, VLLM_SAMPLING_DEFAULTS, VLLM_CHANNELS,
      VLLM_REQUEST_TIMEOUT, VLLM_TLS, VLLM_TLS_CA, VLLM_TLS_CERT, VLLM_TLS_KEY,
      VLLM_TLS_SERVER_NAME, WORKER_ID,
      MAX_IN_FLIGHT, CONCURRENCY, MAX_BUFFERED, RETRY_MAX_ATTEMPTS, RETRY_BACKOFF, DRAIN_TIMEOUT,
      STARTUP_TIMEOUT, STARTUP_WARMUP, STARTUP_WARMUP_CALLS, COMMIT_INTERVAL, DELIVERY, INTAKE, SHARE_CONSUMERS, OFFSET_MAP_MAX_BYTES,
      MAX_REQUEST_BYTES, HTTP_PORT, LOG_LEVEL, LOG_FORMAT, METRICS_TENANT_FIELD,
      METRICS_TENANT_MAX);

  /** Kafka client keys the worker owns; setting them would break its promises. */
  private static final Map<String, String> KAFKA_KEYS_OWNED = Map.of(
      "kafka.enable.auto.commit", "the worker commits offsets itself, only past finished records",
      "kafka.key.deserializer", "records are read as raw bytes",
      "kafka.value.deserializer", "records are read as raw bytes",
      "kafka.key.serializer", "outcomes are written as raw bytes",
      "kafka.value.serializer", "outcomes are written as raw bytes");

  private final Map<String, Object> values;
  private final Map<String, String> raw;
  private final Map<String, String> kafkaPassThrough;

  private WorkerConfig(Map<String, String> raw) {
    this.raw = Collections.unmodifiableMap(new TreeMap<>(raw));
    Map<String, Object> parsed = new HashMap<>();
    Map<String, ConfigKey<?>> declared = new HashMap<>();
    KEYS.forEach(k -> declared.put(k.name(), k));
    Map<String, String> kafka = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : raw.entrySet()) {
      String key = e.getKey();
      ConfigKey<?> k = declared.get(key);
      if (k != null) {
        parsed.put(key, k.parse(e.getValue()));
      } else if (key.startsWith(KAFKA_PREFIX) && key.length() > KAFKA_PREFIX.length()) {
        String why = KAFKA_KEYS_OWNED.get(key);
        if (why != null) {
          throw new ConfigException(key, "cannot be set: " + why);
        }
        kafka.put(key.substring(KAFKA_PREFIX.length()), e.getValue().trim());
      } else {
        throw new ConfigException(key, "unknown key (see the README for the keys)");
      }
    }
    for (ConfigKey<?> k : KEYS) {
      if (!parsed.containsKey(k.name()) && k.defaultText() != null) {
        parsed.put(k.name(), k.parse(k.defaultText()));
      }
    }
    if (!parsed.containsKey(WORKER_ID.name())) {
      parsed.put(WORKER_ID.name(), defaultWorkerId());
    }
    int maxInFlight = (Integer) parsed.get(MAX_IN_FLIGHT.name());
    boolean capSet = raw.containsKey(MAX_IN_FLIGHT.name());
    if (!parsed.containsKey(MAX_BUFFERED.name())) {
      // a cap the user chose sizes the buffer as before; the default cap is a safety net, not
      // a working point, so the buffer keeps its own default rather than four times the cap
      parsed.put(MAX_BUFFERED.name(), capSet ? (int) Math.min(10_000_000L, 4L * maxInFlight)
          : DEFAULT_MAX_BUFFERED);
    } else if (!capSet) {
      maxInFlight = Math.min(maxInFlight, (Integer) parsed.get(MAX_BUFFERED.name()));
      parsed.put(MAX_IN_FLIGHT.name(), maxInFlight);
    } else if ((Integer) parsed.get(MAX_BUFFERED.name()) < maxInFlight) {
      throw new ConfigException(MAX_BUFFERED.name(), "must be at least worker.max-in-flight ("
          + maxInFlight + "), or the backend could never be kept busy");
    }
    if (parsed.get(INTAKE.name()) == IntakeMode.SHARE
        && parsed.get(DELIVERY.name()) == Delivery.EXACTLY_ONCE) {
      throw new ConfigException(DELIVERY.name(), "exactly-once needs worker.intake=consumer "
          + "(a share group's acknowledgements cannot join a producer transaction)");
    }
    int shareConsumers = (Integer) parsed.get(SHARE_CONSUMERS.name());
    if (shareConsumers > (Integer) parsed.get(MAX_BUFFERED.name())) {
      throw new ConfigException(SHARE_CONSUMERS.name(), "must be at most worker.max-buffered ("
          + parsed.get(MAX_BUFFERED.name()) + "): each share consumer holds at least one record");
    }
    String cert = (String) parsed.get(VLLM_TLS_CERT.name());
    String key = (String) parsed.get(VLLM_TLS_KEY.name());
    if (cert.isEmpty() != key.isEmpty()) {
      throw new ConfigException(cert.isEmpty() ? VLLM_TLS_CERT.name() : VLLM_TLS_KEY.name(),
          "mutual TLS needs both vllm.tls.cert-file and vllm.tls.key-file");
    }
    this.values = parsed;
    this.kafkaPassThrough = Collections.unmodifiableMap(kafka);
  }

  /** Reads the file (which must exist), then applies the environment over it. */
  public static WorkerConfig load(Path file, Map<String, String> env) {
    Properties props = new Properties();
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      props.load(r);
    } catch (NoSuchFileException e) {
      throw new ConfigException("--config", "file not found: " + file);
    } catch (IOException | IllegalArgumentException e) {
      throw new ConfigException("--config", "cannot read " + file + ": " + e.getMessage());
    }
    Map<String, String> raw = new HashMap<>();
    props.stringPropertyNames().forEach(k -> raw.put(k.trim(), props.getProperty(k)));
    raw.putAll(fromEnvironment(env));
    return new WorkerConfig(raw);
  }

  /** Builds a config from key/value pairs (tests, the demo), with no environment. */
  public static WorkerConfig of(Map<String, String> values) {
    return new WorkerConfig(new HashMap<>(values));
  }

  /** Maps {@code KVW_*} variables to keys; see the class comment. */
  static Map<String, String> fromEnvironment(Map<String, String> env) {
    Map<String, String> byEnvName = new HashMap<>();
    KEYS.forEach(k -> byEnvName.put(envName(k.name()), k.name()));
    Map<String, String> out = new HashMap<>();
    for (Map.Entry<String, String> e : env.entrySet()) {
      String name = e.getKey();
      if (!name.startsWith(ENV_PREFIX)) {
        continue;
      }
      String key = byEnvName.get(name);
      if (key == null && name.startsWith(ENV_PREFIX + "KAFKA_")) {
        key = name.substring(ENV_PREFIX.length()).toLowerCase(Locale.ROOT).replace('_', '.');
      }
      if (key == null) {
        throw new ConfigException(name, "unknown environment variable (see the README for the "
            + "keys and their KVW_ names)");
      }
      out.put(key, e.getValue());
    }
    return out;
  }

  /** The environment variable that sets {@code key}. */
  public static String envName(String key) {
    return ENV_PREFIX + key.toUpperCase(Locale.ROOT).replace('.', '_').replace('-', '_');
  }

  @SuppressWarnings("unchecked")
  public <T> T get(ConfigKey<T> key) {
    return (T) values.get(key.name());
  }

  /** {@code kafka.*} keys other than the declared ones, without the prefix. */
  public Map<String, String> kafkaPassThrough() {
    return kafkaPassThrough;
  }

  /** The settings as given, secrets redacted: safe to log. */
  public Map<String, String> describe() {
    Map<String, String> out = new TreeMap<>();
    raw.forEach((k, v) -> out.put(k, Secrets.redact(k, v)));
    return out;
  }

  private static String defaultWorkerId() {
    String host;
    try {
      host = InetAddress.getLocalHost().getHostName();
    } catch (IOException e) {
      host = "worker";
    }
    return host + "-" + ProcessHandle.current().pid();
  }
}
