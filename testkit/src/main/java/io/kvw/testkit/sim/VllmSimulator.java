package io.kvw.testkit.sim;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * A gRPC server that speaks vLLM's engine protocol ({@code vllm serve MODEL --grpc}) for tests,
 * the demo and benchmarks on machines without a GPU.
 *
 * <p>Outputs are deterministic: the prompt's own tokens (echo mode, the default), or, with
 * {@link Builder#outputTokens}, a fixed number of tokens cycled from the prompt. Timing follows
 * vLLM's shape: at most {@code maxNumSeqs} sequences run, the rest queue FIFO, each produces
 * its first token after {@code timeToFirstToken} and the rest one {@code timePerOutputToken}
 * apart. Its capacity is therefore {@code maxNumSeqs / (ttft + tpot * (tokens - 1))} requests
 * per second. {@link #faults()} injects errors, outages, slowness and hangs.
 *
 * <p>Requests are checked as vLLM checks them: a negative temperature, a top_p outside (0, 1]
 * or a max_tokens of 0 is INVALID_ARGUMENT, and so is a prompt whose tokens plus max_tokens
 * exceed the context length. Without max_tokens the output may use the rest of the context
 * (vLLM's default), so only a prompt that fills the context on its own is refused.
 *
 * <p>Like vLLM it takes {@code tokenized} input as given and tokenizes {@code text} input with
 * the tokenizer's special tokens; it reports the model's sampling defaults
 * ({@code default_sampling_params_json}), ends samples at stop token ids and stop strings
 * (reporting which matched), sends deterministic logprobs ({@link SimLogprobs}) when asked,
 * and records what every Generate call carried ({@link #calls()}).
 *
 * <p>With {@link Builder#embeddingDim} it is an embedding model instead: {@code Embed} takes
 * tokenized input, one sequence per call, and answers after a prefill's time with a vector
 * derived from the ids ({@link #expectedEmbedding}); Embed calls are faulted, logged and
 * recorded like Generate calls.
 */
public final class VllmSimulator implements AutoCloseable {
  /**
   * The sampling defaults the simulator reports unless told otherwise: Qwen3's
   * generation_config, in the compact form vLLM's servicer writes.
   */
  public static final String DEFAULT_SAMPLING_PARAMS_JSON =
      "{\"temperature\":0.6,\"top_k\":20,\"top_p\":0.95}";

  private final Builder settings;
  private final SimTokenizer tokenizer;
  private final SimStats stats = new SimStats();
  private final SimCalls calls = new SimCalls();
  private final Faults faults = new Faults();
  private final SimTraces traces = new SimTraces();
  private final SimEngine engine;
  private final SimService service;
  private Server server;
  private int port;

  private VllmSimulator(Builder b) {
    this.settings = b;
    this.tokenizer = new SimTokenizer(b.tokenizer);
    this.engine = new SimEngine(b.ttft, b.tpot, b.streamInterval, b.maxNumSeqs, stats);
    this.service = new SimService(b.modelName, b.outputTokens, b.maxContextLength,
        b.loadReports, tokenizer, engine, faults, stats, calls, b.samplingDefaultsJson,
        b.embeddingDim == null ? null : new SimEmbeddings(b.embeddingDim, b.matryoshka));
    this.port = b.port;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Settings of a simulator; the defaults answer at once. */
  public static final class Builder {
    private String modelName = "sim-model";
    private Duration ttft = Duration.ZERO;
    private Duration tpot = Duration.ZERO;
    private Duration streamInterval = Duration.ofMillis(20);
    private int maxNumSeqs = 256;
    private Integer outputTokens;
    private int maxContextLength = 2048;
    private boolean loadReports = true;
    private SimTokenizer.Variant tokenizer = SimTokenizer.Variant.CHATML;
    private String samplingDefaultsJson = DEFAULT_SAMPLING_PARAMS_JSON;
    private Integer embeddingDim;
    private boolean matryoshka;
    private int port;
    private String host = "127.0.0.1";
    private java.io.File tlsCertChain;
    private java.io.File tlsKey;
    private java.io.File tlsClientCa;

    /** The {@code served_model_name}. */
    public Builder modelName(String name) {
      this.modelName = name;
      return this;
    }

    public Builder timeToFirstToken(Duration d) {
      this.ttft = d;
      return this;
    }

    public Builder timePerOutputToken(Duration d) {
      this.tpot = d;
      return this;
    }

    /**
     * How often a streaming request gets a chunk after its first token (tokens due meanwhile
     * are sent together), like vLLM's stream interval. Default 20 ms.
     */
    public Builder streamInterval(Duration d) {
      this.streamInterval = d;
      return this;
    }

    /** Sequences running at once; more wait in a FIFO queue. */
    public Builder maxNumSeqs(int n) {
      if (n < 1) {
        throw new IllegalArgumentException("maxNumSeqs must be at least 1, got " + n);
      }
      this.maxNumSeqs = n;
      return this;
    }

    /** Output length; null (default) echoes the prompt's tokens. Capped by max_tokens. */
    public Builder outputTokens(Integer n) {
      this.outputTokens = n;
      return this;
    }

    /**
     * Whether {@code GetLoads} answers (default); without it the call fails with UNIMPLEMENTED,
     * as on a server that does not offer it, and the worker's limit must follow latency.
     */
    public Builder loadReports(boolean answer) {
      this.loadReports = answer;
      return this;
    }

    /** The tokenizer served and used; default {@link SimTokenizer.Variant#CHATML}. */
    public Builder tokenizer(SimTokenizer.Variant variant) {
      this.tokenizer = variant;
      return this;
    }

    /**
     * What {@code GetModelInfo} reports as {@code default_sampling_params_json} (the model's
     * generation_config defaults); "" for none. Default {@link #DEFAULT_SAMPLING_PARAMS_JSON}.
     */
    public Builder samplingDefaultsJson(String json) {
      this.samplingDefaultsJson = json;
      return this;
    }

    /**
     * Makes the simulator an embedding model with {@code dim} dimensions: GetModelInfo
     * reports {@code is_generation=false}, {@code Embed} answers with
     * {@link VllmSimulator#expectedEmbedding}, and {@code Generate} is refused. Null (default):
     * a generation model, which refuses {@code Embed}.
     */
    public Builder embeddingDim(Integer dim) {
      this.embeddingDim = dim;
      return this;
    }

    /**
     * Whether the embedding model's {@code config.json} (served with the tokenizer) says
     * {@code "is_matryoshka": true}, so clients may ask for fewer dimensions. Default false.
     */
    public Builder matryoshka(boolean matryoshka) {
      this.matryoshka = matryoshka;
      return this;
    }

    /** Prompt plus max_tokens above this is refused with INVALID_ARGUMENT. Default 2048. */
    public Builder maxContextLength(int n) {
      this.maxContextLength = n;
      return this;
    }

    /**
     * Serves TLS with this PEM certificate chain and PKCS#8 key; with {@code clientCa}, also
     * requires a client certificate signed by it (mutual TLS).
     */
    public Builder tls(java.io.File certChain, java.io.File key, java.io.File clientCa) {
      this.tlsCertChain = certChain;
      this.tlsKey = key;
      this.tlsClientCa = clientCa;
      return this;
    }

    /** The address to listen on; default 127.0.0.1 (0.0.0.0 in a container). */
    public Builder host(String host) {
      this.host = host;
      return this;
    }

    /** The port; 0 (default) picks a free one. */
    public Builder port(int port) {
      this.port = port;
      return this;
    }

    public VllmSimulator build() {
      return new VllmSimulator(this);
    }
  }

  /** Starts serving (on 127.0.0.1 unless another host was set); again after a stop. */
  public synchronized VllmSimulator start() {
    if (server != null) {
      return this;
    }
    try {
      NettyServerBuilder b = NettyServerBuilder.forAddress(
          new InetSocketAddress(settings.host, port)).addService(io.grpc.ServerInterceptors.intercept(service, traces))
          // handlers never block (timers do the waiting), so they run on the event loops
          .directExecutor();
      if (settings.tlsCertChain != null) {
        var ssl = io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts.forServer(
            settings.tlsCertChain, settings.tlsKey);
        if (settings.tlsClientCa != null) {
          ssl.trustManager(settings.tlsClientCa).clientAuth(
              io.grpc.netty.shaded.io.netty.handler.ssl.ClientAuth.REQUIRE);
        }
        b.sslContext(ssl.build());
      }
      server = b.build().start();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot serve on port " + port, e);
    }
    port = server.getPort();
    return this;
  }

  /**
   * Takes the server off the network, as a crashed or restarting vLLM: open calls are cut,
   * new connections are refused. {@link #start()} brings it back on the same port.
   */
  public synchronized void stopServing() {
    if (server == null) {
      return;
    }
    server.shutdownNow();
    engine.cancelAll();
    try {
      server.awaitTermination(5, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    server = null;
  }

  /** Serves again after {@link #stopServing()}, on the same port: the end of an outage. */
  public VllmSimulator startServing() {
    return start();
  }

  public int port() {
    return port;
  }

  /** {@code 127.0.0.1:PORT}, as the worker's {@code vllm.target}. */
  public String target() {
    return "127.0.0.1:" + port;
  }

  public String modelName() {
    return settings.modelName;
  }

  /** Requests per second the simulator can answer at most, for a given output length. */
  public double capacity(int outputTokens) {
    double seconds = (settings.ttft.toNanos()
        + (long) Math.max(0, outputTokens - 1) * settings.tpot.toNanos()) / 1e9;
    return seconds == 0 ? Double.POSITIVE_INFINITY : settings.maxNumSeqs / seconds;
  }

  public Faults faults() {
    return faults;
  }

  public SimStats stats() {
    return stats;
  }

  /** What each Generate call carried: request ids, the model's input ids, parameters. */
  public SimCalls calls() {
    return calls;
  }

  /** The trace context each call arrived with. */
  public SimTraces traces() {
    return traces;
  }

  /**
   * The text the simulator answers {@code prompt} with in echo mode, given max_tokens: the
   * prompt itself when it has at most {@code maxTokens} tokens.
   */
  public String expectedEchoText(String prompt, int maxTokens) {
    return expectedText(prompt, null, maxTokens, 0);
  }

  /**
   * The text of sample {@code index} that a simulator built with {@code outputTokens} (null for
   * echo) answers {@code prompt} with, given max_tokens; usable without a running simulator.
   * The output is the prompt's tokens cycled to {@code min(outputTokens or prompt length,
   * maxTokens)} tokens, starting {@code index} tokens in.
   */
  public static String expectedText(String prompt, Integer outputTokens, int maxTokens,
      int index) {
    SimTokenizer t = SimTokenizer.shared();
    int[] ids = t.encode(prompt);
    int natural = outputTokens != null ? outputTokens : ids.length;
    return t.decode(SimService.sample(ids, Math.min(natural, maxTokens), index));
  }

  /**
   * The vector an embedding-model simulator of {@code dim} dimensions answers {@code Embed}
   * with for these token ids: Gaussian values seeded by the ids, L2-normalised.
   */
  public static float[] expectedEmbedding(int[] ids, int dim) {
    return SimEmbeddings.vector(ids, dim);
  }

  /** The tokenizer the simulator uses, for tests that need token counts. */
  public SimTokenizer tokenizer() {
    return tokenizer;
  }

  @Override
  public synchronized void close() {
    stopServing();
    engine.close();
    tokenizer.close();
  }
}
