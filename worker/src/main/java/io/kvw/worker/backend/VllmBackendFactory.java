package io.kvw.worker.backend;

import io.grpc.ManagedChannel;
import io.grpc.StatusRuntimeException;
import io.kvw.proto.vllm.GetModelInfoRequest;
import io.kvw.proto.vllm.GetModelInfoResponse;
import io.kvw.proto.vllm.HealthCheckRequest;
import io.kvw.proto.vllm.VllmEngineGrpc;
import io.kvw.worker.StartupException;
import io.kvw.worker.backend.tokenizer.ChatTemplate;
import io.kvw.worker.backend.tokenizer.TokenDecoder;
import io.kvw.worker.backend.tokenizer.TokenizerFetcher;
import io.kvw.worker.backend.vllm.ChannelSecurity;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Connects to {@code vllm serve --grpc} as the config says: opens the channels, waits for
 * every target to answer {@code HealthCheck} (up to the start-up timeout, saying once that it
 * waits), learns the model's name from {@code GetModelInfo}, and loads the tokenizer, from
 * {@code vllm.tokenizer.path} or fetched with {@code GetTokenizer}.
 */
public final class VllmBackendFactory implements BackendFactory {
  private static final Logger log = LoggerFactory.getLogger(VllmBackendFactory.class);

  @Override
  public InferenceBackend connect(WorkerConfig config, Duration startupTimeout) {
    List<String> targets = config.get(WorkerConfig.VLLM_TARGET);
    int perTarget = config.get(WorkerConfig.VLLM_CHANNELS);
    ChannelSecurity security = security(config);
    List<ManagedChannel> channels = new ArrayList<>();
    Map<String, List<ManagedChannel>> byTarget = new LinkedHashMap<>();
    try {
      for (String target : targets) {
        for (int i = 0; i < perTarget; i++) {
          ManagedChannel c = VllmGrpcBackend.channel(target, security);
          channels.add(c);
          byTarget.computeIfAbsent(target, k -> new ArrayList<>()).add(c);
        }
      }
      long deadline = System.nanoTime() + startupTimeout.toNanos();
      for (int t = 0; t < targets.size(); t++) {
        awaitHealthy(channels.get(t * perTarget), targets.get(t), startupTimeout, deadline);
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
      log.info("connected to vLLM at {} ({} channels): model {}, max context {}, chat "
          + "template {}", targets, channels.size(), model, info.getMaxContextLength(),
          template.map(c -> "from " + c.origin() + ", content format "
              + c.contentFormat().name().toLowerCase(Locale.ROOT)).orElse("none (chat requests are refused)"));
      return new VllmGrpcBackend(byTarget, model, decoder, template);
    } catch (RuntimeException | IOException e) {
      channels.forEach(ManagedChannel::shutdownNow);
      if (e instanceof RuntimeException re && (e instanceof StartupException
          || e instanceof ConfigException)) {
        throw re;
      }
      throw new StartupException("vLLM at " + targets + ": " + e.getMessage(), e);
    }
  }

  /** The TLS settings, read once; a file that is missing or unreadable names its key. */
  static ChannelSecurity security(WorkerConfig config) {
    if (!config.get(WorkerConfig.VLLM_TLS)) {
      return ChannelSecurity.plaintext();
    }
    File ca = file(config, WorkerConfig.VLLM_TLS_CA);
    File cert = file(config, WorkerConfig.VLLM_TLS_CERT);
    File key = file(config, WorkerConfig.VLLM_TLS_KEY);
    try {
      return ChannelSecurity.tls(ca, cert, key, config.get(WorkerConfig.VLLM_TLS_SERVER_NAME));
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
      try {
        Thread.sleep(500);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new StartupException("interrupted while waiting for vLLM at " + target);
      }
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
