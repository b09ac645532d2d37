package io.kvw.worker.backend;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.kvw.proto.vllm.GetModelInfoRequest;
import io.kvw.proto.vllm.GetModelInfoResponse;
import io.kvw.proto.vllm.HealthCheckRequest;
import io.kvw.proto.vllm.VllmEngineGrpc;
import io.kvw.worker.StartupException;
import io.kvw.worker.backend.tokenizer.ChatTemplate;
import io.kvw.worker.backend.tokenizer.PromptEncoder;
import io.kvw.worker.backend.tokenizer.TokenDecoder;
import io.kvw.worker.backend.tokenizer.TokenizerFetcher;
import io.kvw.worker.backend.vllm.ChannelSecurity;
import io.kvw.worker.backend.vllm.SamplingDefaults;
import io.kvw.worker.backend.vllm.DnsTargetResolver;
import io.kvw.worker.backend.vllm.TargetDiscovery;
import io.kvw.worker.backend.vllm.TargetPool;
import io.kvw.worker.backend.vllm.TargetResolver;
import io.kvw.worker.backend.vllm.VllmGrpcBackend;
import io.kvw.worker.config.ConfigKey;
import io.kvw.worker.config.ConfigException;
import io.kvw.worker.config.WorkerConfig;
import java.io.File;
import java.io.IOException;
import javax.net.ssl.SSLException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connects to {@code vllm serve --grpc} as the config says: opens the channels, waits for
 * every target to answer {@code HealthCheck} (up to the start-up timeout, saying once that it
 * waits), learns the model's name from {@code GetModelInfo}, and loads the tokenizer, from
 * {@code vllm.tokenizer.path} or fetched with {@code GetTokenizer}. A {@code dns:///} target
 * is resolved first (waiting for an answer the same way), and then again every
 * {@code vllm.dns.refresh-interval} by a {@link TargetDiscovery}.
 */
public final class VllmBackendFactory implements BackendFactory {
  private static final Logger log = LoggerFactory.getLogger(VllmBackendFactory.class);

  private final BiFunction<String, Integer, TargetResolver> resolvers;

  /** Resolves {@code dns:///} targets through DNS. */
  public VllmBackendFactory() {
    this(DnsTargetResolver::new);
  }

  /**
   * @param resolvers makes the resolver of a {@code dns:///HOST:PORT} target from its host and
   *     port (tests substitute one they control)
   */
  public VllmBackendFactory(BiFunction<String, Integer, TargetResolver> resolvers) {
    this.resolvers = resolvers;
  }

  @Override
  public InferenceBackend connect(WorkerConfig config, Duration startupTimeout) {
    List<String> configured = config.get(WorkerConfig.VLLM_TARGET);
    String dnsName = dnsName(configured);
    int colon = dnsName == null ? -1 : dnsName.lastIndexOf(':');
    String dnsHost = dnsName == null ? "" : dnsName.substring(0, colon);
    TargetResolver resolver = dnsName == null ? null
        : resolvers.apply(dnsHost, Integer.parseInt(dnsName.substring(colon + 1)));
    int perTarget = config.get(WorkerConfig.VLLM_CHANNELS);
    // a replica found through DNS is an IP address: its certificate names the DNS name
    ChannelSecurity security = security(config, dnsHost);
    Function<String, List<ManagedChannel>> open = address -> {
      List<ManagedChannel> cs = new ArrayList<>();
      for (int i = 0; i < perTarget; i++) {
        cs.add(VllmGrpcBackend.channel(address, security));
      }
      return cs;
    };
    List<ManagedChannel> channels = new ArrayList<>();
    Map<String, List<ManagedChannel>> byTarget = new LinkedHashMap<>();
    List<String> targets = configured;
    try {
      long deadline = System.nanoTime() + startupTimeout.toNanos();
      if (resolver != null) {
        targets = awaitAddresses(resolver, startupTimeout, deadline);
      }
      for (String target : targets) {
        List<ManagedChannel> cs = open.apply(target);
        channels.addAll(cs);
        byTarget.put(target, cs);
      }
      for (String target : targets) {
        awaitHealthy(byTarget.get(target).get(0), target, startupTimeout, deadline);
      }
      ManagedChannel first = channels.get(0);
      GetModelInfoResponse info = VllmEngineGrpc.newBlockingStub(first)
          .withDeadlineAfter(10, TimeUnit.SECONDS)
          .getModelInfo(GetModelInfoRequest.getDefaultInstance());
      String served = !info.getServedModelName().isEmpty() ? info.getServedModelName()
          : info.getModelPath();
      String model = config.get(WorkerConfig.VLLM_MODEL).isEmpty() ? served
          : config.get(WorkerConfig.VLLM_MODEL);
      TokenDecoder decoder = tokenizer(config, first);
      Optional<ChatTemplate> template = ChatTemplate.load(decoder.directory());
      SamplingDefaults defaults = samplingDefaults(config, info);
      EmbeddingModel embeddingModel = embeddingModel(info, model, decoder.directory());
      log.info("connected to vLLM at {} ({} channels): model {}, {}, max context {}, chat "
          + "template {}", targets, channels.size(), model, embeddingModel == null
              ? "a generation model (embedding requests are refused)"
              : embeddingModel.describe(), info.getMaxContextLength(),
          template.map(c -> "from " + c.origin() + ", content format "
              + c.contentFormat().name().toLowerCase(Locale.ROOT))
              .orElse("none (chat requests are refused)"));
      TargetPool pool = VllmGrpcBackend.pool(byTarget, open);
      if (resolver != null) {
        Duration every = config.get(WorkerConfig.VLLM_DNS_REFRESH);
        TargetDiscovery.start(pool, resolver, every);
        log.info("resolving {} again every {} ms", resolver, every.toMillis());
      }
      return new VllmGrpcBackend(pool, model, decoder, new PromptEncoder(decoder, template,
          info.getMaxContextLength(), embeddingModel), defaults);
    } catch (RuntimeException | IOException e) {
      channels.forEach(ManagedChannel::shutdownNow);
      if (e instanceof RuntimeException re && (e instanceof StartupException
          || e instanceof ConfigException)) {
        throw re;
      }
      throw new StartupException("vLLM at " + configured + ": " + e.getMessage(), e);
    }
  }

  /**
   * The embedding model GetModelInfo reports ({@code is_generation=false}), with what its
   * {@code config.json} beside the tokenizer says of Matryoshka dimensions; null for a
   * generation model.
   */
  private static EmbeddingModel embeddingModel(GetModelInfoResponse info, String model,
      Path tokenizerDirectory) throws IOException {
    return info.getIsGeneration() ? null
        : EmbeddingModel.fromConfig(model, tokenizerDirectory);
  }

  /** {@code HOST:PORT} of a {@code dns:///} target, or null for a fixed list. */
  private static String dnsName(List<String> targets) {
    String first = targets.get(0);
    return first.startsWith(WorkerConfig.DNS_TARGET_SCHEME)
        ? first.substring(WorkerConfig.DNS_TARGET_SCHEME.length()) : null;
  }

  /** The first non-empty answer, waiting (and saying so once) up to the start-up timeout. */
  private static List<String> awaitAddresses(TargetResolver resolver, Duration timeout,
      long deadline) {
    String problem = "no addresses";
    boolean logged = false;
    while (true) {
      try {
        List<String> addresses = resolver.resolve();
        if (!addresses.isEmpty()) {
          return addresses;
        }
        problem = "no addresses";
      } catch (IOException e) {
        problem = e.toString();
      }
      if (System.nanoTime() > deadline) {
        throw new StartupException(resolver + " had " + problem + " within "
            + timeout.toSeconds() + " s (" + WorkerConfig.STARTUP_TIMEOUT.name() + ")");
      }
      if (!logged) {
        log.info("waiting for {} to resolve ({}; up to {} s)", resolver, problem,
            timeout.toSeconds());
        logged = true;
      }
      sleep(500, "resolving " + resolver);
    }
  }

  private static void sleep(long ms, String what) {
    try {
      Thread.sleep(ms);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new StartupException("interrupted while " + what);
    }
  }

  /** The model's sampling defaults, unless the config turns them off; logged either way. */
  static SamplingDefaults samplingDefaults(WorkerConfig config, GetModelInfoResponse info) {
    String json = info.getDefaultSamplingParamsJson();
    if (config.get(WorkerConfig.VLLM_SAMPLING_DEFAULTS) == WorkerConfig.SamplingDefaults.NONE) {
      log.info("model sampling defaults off ({}=none); the server reports {}",
          WorkerConfig.VLLM_SAMPLING_DEFAULTS.name(), json.isEmpty() ? "none" : json);
      return SamplingDefaults.NONE;
    }
    SamplingDefaults defaults;
    try {
      defaults = SamplingDefaults.parse(json);
    } catch (IllegalArgumentException e) {
      // the server's data, not the user's: say so and carry on with vLLM's own defaults
      log.warn("ignoring the model's sampling defaults: {}", e.getMessage());
      return SamplingDefaults.NONE;
    }
    log.info("model sampling defaults for requests that leave them unset: {}",
        defaults.asMap().isEmpty() ? "none (the model has no generation_config defaults)"
            : defaults.asMap());
    return defaults;
  }

  /** The TLS settings, read once; a file that is missing or unreadable names its key. */
  static ChannelSecurity security(WorkerConfig config, String defaultServerName) {
    if (!config.get(WorkerConfig.VLLM_TLS)) {
      return ChannelSecurity.plaintext();
    }
    File ca = file(config, WorkerConfig.VLLM_TLS_CA);
    File cert = file(config, WorkerConfig.VLLM_TLS_CERT);
    File key = file(config, WorkerConfig.VLLM_TLS_KEY);
    try {
      String serverName = config.get(WorkerConfig.VLLM_TLS_SERVER_NAME);
      return ChannelSecurity.tls(ca, cert, key,
          serverName.isEmpty() ? defaultServerName : serverName);
    } catch (SSLException | IllegalArgumentException e) {
      String which = cert != null ? WorkerConfig.VLLM_TLS_CERT.name() + "/"
          + WorkerConfig.VLLM_TLS_KEY.name() : WorkerConfig.VLLM_TLS_CA.name();
      throw new ConfigException(which, "cannot build a TLS context: " + e.getMessage());
    }
  }

  private static File file(WorkerConfig config, ConfigKey<String> key) {
    String path = config.get(key);
    if (path.isEmpty()) {
      return null;
    }
    File f = new File(path);
    if (!f.canRead()) {
      throw new ConfigException(key.name(), "cannot read " + path);
    }
    return f;
  }

  private static void awaitHealthy(ManagedChannel channel, String target, Duration timeout,
      long deadline) {
    boolean logged = false;
    while (true) {
      try {
        if (VllmEngineGrpc.newBlockingStub(channel).withDeadlineAfter(2, TimeUnit.SECONDS)
            .healthCheck(HealthCheckRequest.getDefaultInstance()).getHealthy()) {
          return;
        }
      } catch (StatusRuntimeException e) {
        SSLException tls = tlsCause(e);
        if (tls != null) {
          // waiting cannot fix a certificate problem: say so now
          throw new StartupException("TLS to vLLM at " + target + " failed: " + tls.getMessage()
              + " (check vllm.tls.ca-file, vllm.tls.cert-file, vllm.tls.key-file)");
        }
      }
      if (System.nanoTime() > deadline) {
        throw new StartupException("vLLM at " + target + " was not reachable within "
            + timeout.toSeconds() + " s (" + WorkerConfig.STARTUP_TIMEOUT.name() + ")");
      }
      if (!logged) {
        log.info("waiting for vLLM at {} (up to {} s)", target, timeout.toSeconds());
        logged = true;
      }
      sleep(500, "waiting for vLLM at " + target);
    }
  }

  private static SSLException tlsCause(Throwable e) {
    for (Throwable c = e; c != null; c = c.getCause()) {
      if (c instanceof SSLException ssl) {
        return ssl;
      }
    }
    return null;
  }

  private static TokenDecoder tokenizer(WorkerConfig config, ManagedChannel channel)
      throws IOException {
    String configured = config.get(WorkerConfig.VLLM_TOKENIZER_PATH);
    if (!configured.isEmpty()) {
      try {
        return TokenDecoder.load(Path.of(configured));
      } catch (IOException | RuntimeException e) {
        throw new ConfigException(WorkerConfig.VLLM_TOKENIZER_PATH.name(), e.getMessage());
      }
    }
    Path dir = TokenizerFetcher.fetch(channel, Duration.ofMinutes(2));
    return TokenDecoder.load(dir);
  }
}
