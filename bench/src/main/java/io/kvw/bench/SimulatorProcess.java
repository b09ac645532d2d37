package io.kvw.bench;

import io.kvw.testkit.sim.VllmSimulator;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The latency bench's simulator in its own JVM, so that its pauses are neither the paced
 * producer's nor the result reader's (and theirs not its): in the bench's JVM it shared a
 * large G1 heap with both. Like the broker ({@link BrokerProcess}) it is harness, so it runs
 * with low-pause settings: the serial collector over a young generation larger than any
 * measured stretch allocates (its live data is under 10 MiB, and the pages are touched before
 * it starts), and the latency bench collects its garbage before each measured stretch, so it
 * does not collect while measured. With a 32 MiB young
 * generation it paused 10 to 12 times in a run, up to 177 ms each on the loaded 2-core
 * machine, and every pause held up the calls in flight. The bench drives it over its standard input, one command a line, each
 * answered with one line: {@code enable} (start recording each request's service time),
 * {@code times FILE} (write them to FILE as {@code id nanos} lines) and {@code stats}. Its GC
 * log goes to {@code simulator-gc.log} in the work directory; {@code
 * -Dkvw.bench.simulatorJvmArgs=...} replaces the settings, to compare.
 */
final class SimulatorProcess implements AutoCloseable {
  static final List<String> JVM_ARGS = List.of("-Xms1g", "-Xmx1g", "-XX:+UseSerialGC",
      "-Xmn768m", "-XX:+AlwaysPreTouch");
  /** What starts each of its answers. */
  private static final String REPLY = "simulator: ";
  private final Process process;
  private final BufferedReader out;
  private final PrintStream in;
  private final String target;
  private final Path gcLog;
  private final Path work;

  /** A simulator answering each request in {@code perRequest}, {@code maxNumSeqs} at once. */
  SimulatorProcess(Path work, Duration perRequest, int maxNumSeqs) throws IOException {
    this.work = work;
    List<String> cmd = new ArrayList<>(List.of(WorkerProcess.javaBin()));
    String override = System.getProperty("kvw.bench.simulatorJvmArgs", "").trim();
    cmd.addAll(override.isEmpty() ? JVM_ARGS : List.of(override.split("\\s+")));
    gcLog = work.resolve("simulator-gc.log");
    cmd.addAll(List.of("-Xlog:gc:file=" + gcLog, "-cp", System.getProperty("java.class.path"),
        SimulatorProcess.class.getName(), Long.toString(perRequest.toMillis()),
        Integer.toString(maxNumSeqs)));
    process = new ProcessBuilder(cmd).redirectError(work.resolve("simulator.log").toFile())
        .start();
    Process child = process;
    Runtime.getRuntime().addShutdownHook(new Thread(child::destroyForcibly, "kill-simulator"));
    out = new BufferedReader(new InputStreamReader(process.getInputStream(),
        StandardCharsets.UTF_8));
    in = new PrintStream(process.getOutputStream(), true, StandardCharsets.UTF_8);
    target = answer(null);
  }

  /** The simulator process: {@code SimulatorProcess PER_REQUEST_MS MAX_NUM_SEQS}. */
  public static void main(String[] args) throws IOException {
    try (VllmSimulator sim = VllmSimulator.builder().modelName("sim-model")
        .timeToFirstToken(Duration.ofMillis(Long.parseLong(args[0])))
        .timePerOutputToken(Duration.ZERO).outputTokens(1)
        .maxNumSeqs(Integer.parseInt(args[1])).build().start()) {
      PrintStream reply = System.out;
      reply.println(REPLY + sim.target());
      reply.flush();
      BufferedReader commands = new BufferedReader(new InputStreamReader(System.in,
          StandardCharsets.UTF_8));
      String line;
      while ((line = commands.readLine()) != null) {
        if (line.equals("enable")) {
          sim.stats().serviceTimes().enable();
          reply.println(REPLY + "ok");
        } else if (line.startsWith("times ")) {
          try (Writer w = Files.newBufferedWriter(Path.of(line.substring(6)));
              PrintWriter p = new PrintWriter(w)) {
            sim.stats().serviceTimes().all().forEach((id, nanos) -> p.println(id + " " + nanos));
          }
          reply.println(REPLY + "ok");
        } else if (line.equals("stats")) {
          reply.println(REPLY + sim.stats());
        } else {
          reply.println(REPLY + "unknown command " + line);
        }
        reply.flush();
      }
    }
  }

  /** host:port of its gRPC server. */
  String target() {
    return target;
  }

  /** Starts recording each request's service time, forgetting earlier ones. */
  void enableServiceTimes() throws IOException {
    answer("enable");
  }

  /** Every recorded service time, in nanoseconds by backend request id. */
  Map<String, Long> serviceTimes() throws IOException {
    Path file = Files.createTempFile(work, "service-times", ".txt");
    answer("times " + file);
    Map<String, Long> times = new HashMap<>();
    for (String l : Files.readAllLines(file)) {
      int space = l.lastIndexOf(' ');
      times.put(l.substring(0, space), Long.parseLong(l.substring(space + 1)));
    }
    Files.delete(file);
    return times;
  }

  /** What the simulator saw so far ({@code SimStats}). */
  String stats() throws IOException {
    return answer("stats");
  }

  /** Its GC pauses so far, in milliseconds, in order. */
  List<Double> gcPauses() {
    return HarnessJvm.pauses(gcLog);
  }

  /** Its process id, to read its compiler threads' CPU ({@link HarnessJvm}). */
  long pid() {
    return process.pid();
  }

  /** A full collection now ({@link HarnessJvm#collect}). */
  void collectGarbage() {
    HarnessJvm.collect(process.pid());
  }

  private synchronized String answer(String command) throws IOException {
    if (command != null) {
      in.println(command);
    }
    String line;
    do { // anything else on its standard output (a library's log line) is not an answer
      line = out.readLine();
      if (line == null) {
        throw new IllegalStateException("the simulator process exited (see simulator.log in "
            + work + ")");
      }
    } while (!line.startsWith(REPLY));
    return line.substring(REPLY.length());
  }

  @Override
  public void close() throws InterruptedException {
    in.close(); // its command loop ends, and it stops serving
    if (!process.waitFor(30, TimeUnit.SECONDS)) {
      process.destroyForcibly();
    }
  }
}
