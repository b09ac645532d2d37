package io.kvw.demo;

import io.grpc.Status;
import io.kvw.testkit.sim.Faults;
import io.kvw.testkit.sim.SimTokenizer;
import io.kvw.testkit.sim.VllmSimulator;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * Runs the vLLM simulator as a server until stopped: the same gRPC protocol as
 * {@code vllm serve MODEL --grpc}, on a CPU, with vLLM's timing model (time to first token,
 * time per output token, {@code max_num_seqs}) and optional faults. For CPU-only setups
 * (docker compose, a laptop) and for load tests.
 */
@Command(name = "simulate", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Serve the vLLM gRPC protocol with the simulator until stopped (SIGTERM).")
final class SimulateCommand implements Callable<Integer> {

  @Option(names = "--host", defaultValue = "127.0.0.1",
      description = "Address to listen on; 0.0.0.0 in a container (default: ${DEFAULT-VALUE}).")
  String host;

  @Option(names = "--port", defaultValue = "50051",
      description = "Port to listen on; 0 picks a free one (default: ${DEFAULT-VALUE}).")
  int port;

  @Option(names = "--model", defaultValue = "sim-model",
      description = "served_model_name (default: ${DEFAULT-VALUE}).")
  String model;

  @Option(names = "--ttft-ms", defaultValue = "50",
      description = "Time to first token, ms (default: ${DEFAULT-VALUE}).")
  long ttftMs;

  @Option(names = "--tpot-ms", defaultValue = "10",
      description = "Time per output token, ms (default: ${DEFAULT-VALUE}).")
  long tpotMs;

  @Option(names = "--max-num-seqs", defaultValue = "256",
      description = "Sequences run at once; the rest wait in a FIFO queue "
          + "(default: ${DEFAULT-VALUE}).")
  int maxNumSeqs;

  @Option(names = "--output-tokens",
      description = "Tokens per answer (capped by max_tokens); omit to echo the prompt.")
  Integer outputTokens;

  @Option(names = "--max-context", defaultValue = "2048",
      description = "Prompt plus max_tokens above this is refused (default: ${DEFAULT-VALUE}).")
  int maxContext;

  @Option(names = "--stream-interval-ms",
      description = "Send streamed chunks at most this often, ms (default: every token).")
  Long streamIntervalMs;

  @Option(names = "--tokenizer", defaultValue = "chatml",
      description = "The model's tokenizer: chatml (no BOS added) or llama3 (adds a BOS, "
          + "Llama-3-style template) (default: ${DEFAULT-VALUE}).")
  String tokenizer;

  @Option(names = "--sampling-defaults",
      description = "The model's generation_config defaults as GetModelInfo reports them "
          + "(default_sampling_params_json), e.g. '{\"temperature\": 0.6}'.")
  String samplingDefaults;

  @Option(names = "--embedding-dim",
      description = "Serve an embedding model of this many dimensions (is_generation=false; "
          + "Embed answers, Generate is refused); omit for a generation model.")
  Integer embeddingDim;

  @Option(names = "--matryoshka",
      description = "With --embedding-dim: the model's config.json says is_matryoshka, so "
          + "requests may ask for fewer dimensions.")
  boolean matryoshka;

  @Option(names = "--request-log",
      description = "Append the request id of every Generate call to this file (counts what "
          + "reached the model, e.g. work redone after a crash).")
  java.nio.file.Path requestLog;

  @Option(names = "--no-loads",
      description = "Refuse GetLoads with UNIMPLEMENTED, as a server that does not offer it.")
  boolean noLoads;

  @Option(names = "--fail-rate", defaultValue = "0",
      description = "Fraction of Generate calls that fail with --fail-code (default: "
          + "${DEFAULT-VALUE}).")
  double failRate;

  @Option(names = "--fail-code", defaultValue = "UNAVAILABLE",
      description = "gRPC status of the failed calls (default: ${DEFAULT-VALUE}).")
  Status.Code failCode;

  @Option(names = "--slow-rate", defaultValue = "0",
      description = "Fraction of Generate calls delayed by --slow-ms before the first token "
          + "(default: ${DEFAULT-VALUE}).")
  double slowRate;

  @Option(names = "--slow-ms", defaultValue = "0",
      description = "Extra delay of the slow calls, ms (default: ${DEFAULT-VALUE}).")
  long slowMs;

  @Option(names = "--hang-rate", defaultValue = "0",
      description = "Fraction of Generate calls that never answer (default: ${DEFAULT-VALUE}).")
  double hangRate;

  @Option(names = "--seed", defaultValue = "" + Faults.DEFAULT_SEED,
      description = "Seed of the fault fractions (default: ${DEFAULT-VALUE}).")
  long seed;

  @Override
  public Integer call() throws InterruptedException {
    VllmSimulator sim = start();
    System.out.println("vllm simulator serving " + sim.modelName() + " at " + sim.target());
    System.out.flush();
    CountDownLatch stopped = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      sim.close();
      stopped.countDown();
    }, "simulator-shutdown"));
    stopped.await();
    return 0;
  }

  /** The simulator as the options say, serving. */
  VllmSimulator start() {
    VllmSimulator.Builder b = VllmSimulator.builder().host(host).port(port).modelName(model)
        .timeToFirstToken(Duration.ofMillis(ttftMs)).timePerOutputToken(Duration.ofMillis(tpotMs))
        .maxNumSeqs(maxNumSeqs).outputTokens(outputTokens).maxContextLength(maxContext)
        .loadReports(!noLoads).embeddingDim(embeddingDim).matryoshka(matryoshka);
    b.tokenizer(SimTokenizer.Variant.valueOf(tokenizer.toUpperCase(java.util.Locale.ROOT)));
    if (samplingDefaults != null) {
      b.samplingDefaultsJson(samplingDefaults);
    }
    if (streamIntervalMs != null) {
      b.streamInterval(Duration.ofMillis(streamIntervalMs));
    }
    VllmSimulator sim = b.build();
    if (requestLog != null) {
      try {
        sim.stats().requestLog().writeTo(requestLog);
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException("--request-log " + requestLog, e);
      }
    }
    sim.start();
    Faults faults = sim.faults().seed(seed);
    if (failRate > 0) {
      faults.failRate(failCode, failRate);
    }
    if (slowRate > 0) {
      faults.slow(Duration.ofMillis(slowMs), slowRate);
    }
    if (hangRate > 0) {
      faults.hang(hangRate);
    }
    return sim;
  }
}
