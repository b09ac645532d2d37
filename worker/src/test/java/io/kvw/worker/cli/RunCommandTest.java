package io.kvw.worker.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** Bad config exits non-zero at once with one line that names the key. */
class RunCommandTest {
  @TempDir
  Path dir;

  private record Outcome(int code, String stderr) {}

  private Outcome run(String... args) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    PrintStream old = System.err;
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      int code = new CommandLine(new Main()).execute(args);
      return new Outcome(code, err.toString(StandardCharsets.UTF_8));
    } finally {
      System.setErr(old);
    }
  }

  @Test
  void aMissingConfigFileIsOneLine() {
    Outcome o = run("run", "--config", dir.resolve("missing.properties").toString());
    assertThat(o.code()).isEqualTo(2);
    assertThat(o.stderr().strip().lines()).hasSize(1);
    assertThat(o.stderr()).startsWith("config error: --config: file not found");
  }

  @Test
  void anUnknownKeyIsNamed() throws Exception {
    Path f = dir.resolve("w.properties");
    Files.writeString(f, "vllm.targett=localhost:1\n");
    Outcome o = run("run", "--config", f.toString());
    assertThat(o.code()).isEqualTo(2);
    assertThat(o.stderr().strip()).isEqualTo(
        "config error: vllm.targett: unknown key (see the README for the keys)");
  }

  @Test
  void anOutOfRangeValueIsNamedWithItsRange() throws Exception {
    Path f = dir.resolve("w.properties");
    Files.writeString(f, "worker.max-in-flight=-4\n");
    Outcome o = run("run", "--config", f.toString());
    assertThat(o.code()).isEqualTo(2);
    assertThat(o.stderr().strip()).isEqualTo(
        "config error: worker.max-in-flight: must be from 1 to 100000 (got '-4')");
  }

  @Test
  void anUnreachableBrokerExitsNamingIt() throws Exception {
    Path f = dir.resolve("w.properties");
    Files.writeString(f, "kafka.bootstrap.servers=127.0.0.1:1\nworker.startup-timeout=2s\n"
        + "http.port=-1\n");
    Outcome o = run("run", "--config", f.toString());
    assertThat(o.code()).isEqualTo(3);
    assertThat(o.stderr().strip()).isEqualTo("start-up failed: Kafka at 127.0.0.1:1 was not "
        + "reachable within 2 s (worker.startup-timeout)");
  }
}
