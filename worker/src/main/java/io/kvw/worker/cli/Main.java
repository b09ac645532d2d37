package io.kvw.worker.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code java -jar worker.jar run --config FILE}, and the user's tools {@code submit},
 * {@code tail} and {@code dlq replay}. The demo and the simulator are the demo module's
 * ({@code java -jar demo/target/demo.jar demo}), so this jar carries no broker.
 */
@Command(name = "worker.jar", mixinStandardHelpOptions = true,
    description = "Kafka as an inference queue for vLLM's gRPC protocol.",
    subcommands = {RunCommand.class, SubmitCommand.class, TailCommand.class, DlqCommand.class})
public final class Main implements Runnable {

  /** Exit code for bad configuration (usage errors use picocli's 2 as well). */
  static final int EXIT_CONFIG = 2;
  /** Exit code when Kafka or vLLM could not be reached at start-up. */
  static final int EXIT_UNREACHABLE = 3;
  /** {@code submit}: every request answered, some with an error result. */
  static final int EXIT_SOME_ERRORS = 4;
  /** {@code submit}: some requests got no result within their timeout. */
  static final int EXIT_TIMED_OUT = 5;

  public static void main(String[] args) {
    System.exit(new CommandLine(new Main()).execute(args));
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }
}
