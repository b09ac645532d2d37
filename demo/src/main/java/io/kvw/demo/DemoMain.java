package io.kvw.demo;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The demo and the vLLM simulator as their own program, so the worker's production jar carries
 * no Kafka broker, no Scala and no simulator: {@code java -jar demo/target/demo.jar demo} or
 * {@code java -jar demo/target/demo.jar simulate --port 50051}.
 */
@Command(name = "demo.jar", mixinStandardHelpOptions = true,
    description = "The kafka-vllm-worker demo and the vLLM simulator (no GPU needed).",
    subcommands = {DemoCommand.class, SimulateCommand.class})
public final class DemoMain implements Runnable {

  public static void main(String[] args) {
    System.exit(new CommandLine(new DemoMain()).execute(args));
  }

  @Override
  public void run() {
    new CommandLine(this).usage(System.out);
  }
}
