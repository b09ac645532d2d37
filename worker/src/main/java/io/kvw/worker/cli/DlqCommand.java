package io.kvw.worker.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Spec;

/** {@code dlq replay}: the dead-letter topic's tools. */
@Command(name = "dlq", mixinStandardHelpOptions = true,
    description = "Work with the dead-letter topic.",
    subcommands = DlqReplayCommand.class)
final class DlqCommand implements Runnable {
  @Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public void run() {
    spec.commandLine().usage(System.out);
  }
}
