package io.kvw.testkit.sim;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;

/**
 * Runs the simulator as a process until killed:
 * {@code SimulatorMain --port 50051 --model sim-model --ttft-ms 50 --tpot-ms 10
 * --max-num-seqs 256 --output-tokens 64} (omit {@code --output-tokens} to echo prompts;
 * {@code --request-log FILE} appends the request id of every Generate call to FILE).
 */
public final class SimulatorMain {
  private SimulatorMain() {}

  public static void main(String[] args) throws Exception {
    VllmSimulator.Builder b = VllmSimulator.builder().port(50051);
    java.nio.file.Path requestLog = null;
    for (int i = 0; i < args.length; i += 2) {
      String value = i + 1 < args.length ? args[i + 1] : null;
      if (value == null) {
        usage("missing value for " + args[i]);
      }
      switch (args[i]) {
        case "--port" -> b.port(Integer.parseInt(value));
        case "--host" -> b.host(value);
        case "--model" -> b.modelName(value);
        case "--ttft-ms" -> b.timeToFirstToken(Duration.ofMillis(Long.parseLong(value)));
        case "--tpot-ms" -> b.timePerOutputToken(Duration.ofMillis(Long.parseLong(value)));
        case "--max-num-seqs" -> b.maxNumSeqs(Integer.parseInt(value));
        case "--output-tokens" -> b.outputTokens(Integer.parseInt(value));
        case "--max-context" -> b.maxContextLength(Integer.parseInt(value));
        case "--stream-interval-ms" ->
            b.streamInterval(Duration.ofMillis(Long.parseLong(value)));
        case "--request-log" -> requestLog = java.nio.file.Path.of(value);
        default -> usage("unknown option " + args[i]);
      }
    }
    VllmSimulator sim = b.build();
    if (requestLog != null) {
      sim.stats().requestLog().writeTo(requestLog);
    }
    sim.start();
    System.out.println("vllm simulator serving " + sim.modelName() + " at " + sim.target());
    CountDownLatch forever = new CountDownLatch(1);
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      sim.close();
      forever.countDown();
    }));
    forever.await();
  }

  private static void usage(String problem) {
    System.err.println(problem + "\nusage: SimulatorMain [--host ADDR] [--port N]"
        + " [--model NAME] [--ttft-ms N] [--tpot-ms N] [--max-num-seqs N] [--output-tokens N]"
        + " [--max-context N] [--stream-interval-ms N] [--request-log FILE]");
    System.exit(2);
  }
}
