package io.kvw.worker.cli;

import io.kvw.client.InferenceClient;
import io.kvw.worker.config.ConfigException;
import io.kvw.worker.config.WorkerConfig;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.common.KafkaException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Pushes a JSONL file of requests through the worker and collects every answer, in input
 * order. With {@code --output} it is resumable: each result is appended to the file as it
 * arrives, a rerun skips the ids the file already answers, and the finished file is rewritten
 * in input order.
 */
@Command(name = "submit", mixinStandardHelpOptions = true,
    description = {"Send every line of a JSONL file as a request, wait for every result and "
        + "write them in input order.",
        "A line is an OpenAI Batch line, one of our requests, or (when not a JSON object) a "
        + "bare prompt. Lines without an id get line-<n>-<hash>, stable across reruns.",
        "A line naming a model listed in topics.requests.by-model goes to that model's "
        + "requests topic; any other to topics.requests. Results come on topics.results.",
        "Exit codes: 0 every request answered without error; 2 bad config or input; "
        + "4 every request answered, some with an error result; 5 some requests got no "
        + "result within --timeout."},
    sortOptions = false)
final class SubmitCommand implements java.util.concurrent.Callable<Integer> {
  @Mixin
  ToolConfig config;

  @Option(names = "--input", required = true, paramLabel = "FILE",
      description = "JSONL file, one request per line.")
  Path input;

  @Option(names = "--output", paramLabel = "FILE",
      description = "Where results go, one JSON per line in input order (default: stdout). "
          + "Rerunning with the same file skips ids it already answers.")
  Path output;

  @Option(names = "--max-outstanding", defaultValue = "256", paramLabel = "N",
      description = "Requests waiting for results at once (default: ${DEFAULT-VALUE}).")
  int maxOutstanding;

  @Option(names = "--timeout", defaultValue = "PT10M", paramLabel = "DURATION",
      description = "How long one request may wait for its result, ISO-8601 "
          + "(default: ${DEFAULT-VALUE}).")
  Duration timeout;

  @Option(names = "--progress-interval", defaultValue = "PT5S", paramLabel = "DURATION",
      description = "Between progress lines when stderr is not a terminal "
          + "(default: ${DEFAULT-VALUE}).")
  Duration progressInterval;

  PrintStream out = System.out;
  PrintStream err = System.err;

  @Override
  public Integer call() throws Exception {
    WorkerConfig cfg;
    List<SubmitInput.Line> lines;
    try {
      cfg = config.load();
      lines = SubmitInput.read(input);
    } catch (ConfigException e) {
      err.println("config error: " + e.getMessage());
      return Main.EXIT_CONFIG;
    } catch (NoSuchFileException e) {
      err.println("--input: file not found: " + input);
      return Main.EXIT_CONFIG;
    } catch (SubmitInput.BadInput e) {
      err.println("--input: " + e.getMessage());
      return Main.EXIT_CONFIG;
    }
    Map<String, String> answered = output == null ? new LinkedHashMap<>()
        : readAnswered(output);
    List<SubmitInput.Line> toSend = lines.stream()
        .filter(l -> !answered.containsKey(l.id())).toList();
    if (output != null && !answered.isEmpty()) {
      err.printf("%s already answers %d of %d requests; sending the other %d%n", output,
          lines.size() - toSend.size(), lines.size(), toSend.size());
    }
    Map<String, String> fresh = new ConcurrentHashMap<>();
    SubmitSummary summary = new SubmitSummary();
    if (!toSend.isEmpty()) {
      try {
        send(cfg, toSend, fresh, summary);
      } catch (KafkaException | IllegalStateException e) {
        err.println("submit: cannot reach the topics: " + e.getMessage());
        return Main.EXIT_UNREACHABLE;
      }
    }
    answered.putAll(fresh);
    writeInInputOrder(lines, answered);
    int errorResults = 0;
    for (SubmitInput.Line l : lines) {
      String r = answered.get(l.id());
      if (r != null && ResultView.parse(r).isError()) {
        errorResults++;
      }
    }
    int unanswered = (int) lines.stream().filter(l -> !answered.containsKey(l.id())).count();
    summary.print(err, lines.size(), toSend.size(), unanswered, errorResults);
    return unanswered > 0 ? Main.EXIT_TIMED_OUT : errorResults > 0 ? Main.EXIT_SOME_ERRORS : 0;
  }

  private void send(WorkerConfig cfg, List<SubmitInput.Line> toSend, Map<String, String> fresh,
      SubmitSummary summary) throws IOException {
    BufferedWriter append = output == null ? null : Files.newBufferedWriter(output,
        StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    List<CompletableFuture<?>> futures = new ArrayList<>(toSend.size());
    String requests = cfg.get(WorkerConfig.TOPIC_REQUESTS);
    Map<String, String> byModel = cfg.get(WorkerConfig.TOPIC_REQUESTS_BY_MODEL);
    try (InferenceClient client = InferenceClient.builder()
            .bootstrapServers(cfg.get(WorkerConfig.KAFKA_BOOTSTRAP))
            .requestsTopic(cfg.get(WorkerConfig.TOPIC_REQUESTS))
            .resultsTopic(cfg.get(WorkerConfig.TOPIC_RESULTS))
            .kafkaProperties(ToolConfig.kafkaProperties(cfg, "kvw-submit"))
            .maxOutstanding(maxOutstanding)
            .timeout(timeout)
            .build();
        Progress progress = new Progress(err, System.console() != null, toSend.size(),
            progressInterval)) {
      for (SubmitInput.Line line : toSend) {
        long sentNanos = System.nanoTime();
        String topic = line.model() == null ? requests
            : byModel.getOrDefault(line.model(), requests);
        futures.add(client.send(topic, null, line.value()).whenComplete((value, failure) -> {
          if (failure != null) {
            summary.unanswered(failure instanceof TimeoutException ? "timed_out"
                : failure.getClass().getSimpleName());
            progress.completed(true);
            return;
          }
          String json = new String(value, StandardCharsets.UTF_8);
          ResultView view = ResultView.parse(value);
          summary.answered(view, System.nanoTime() - sentNanos);
          progress.completed(view.isError());
          fresh.put(line.id(), json);
          if (append != null) {
            appendLine(append, json);
          }
        }));
      }
      CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
          .handle((v, e) -> null).join();
    } finally {
      if (append != null) {
        append.close();
      }
    }
  }

  /** Appended and flushed one by one, so a killed run keeps every answer it got. */
  private static void appendLine(BufferedWriter w, String json) {
    synchronized (w) {
      try {
        w.write(json);
        w.newLine();
        w.flush();
      } catch (IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
    }
  }

  /** Id to result line of an earlier run; a torn last line (a killed run) is skipped. */
  private static Map<String, String> readAnswered(Path file) throws IOException {
    Map<String, String> out = new LinkedHashMap<>();
    if (!Files.exists(file)) {
      return out;
    }
    for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
      String id = line.isBlank() ? null : ResultView.parse(line).id();
      if (id != null) {
        out.putIfAbsent(id, line);
      }
    }
    return out;
  }

  /**
   * The results of the input's requests in input order, then any other results the file
   * already held (nothing it held is lost). Written to a temporary file and moved over the
   * output, so the file is whole at every moment.
   */
  private void writeInInputOrder(List<SubmitInput.Line> lines, Map<String, String> results)
      throws IOException {
    Map<String, String> rest = new LinkedHashMap<>(results);
    List<String> ordered = new ArrayList<>(results.size());
    for (SubmitInput.Line l : lines) {
      String r = rest.remove(l.id());
      if (r != null) {
        ordered.add(r);
      }
    }
    ordered.addAll(rest.values());
    if (output == null) {
      ordered.forEach(out::println);
      out.flush();
      return;
    }
    Path dir = output.toAbsolutePath().getParent();
    Path tmp = Files.createTempFile(dir, output.getFileName().toString(), ".tmp");
    try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(tmp, StandardCharsets.UTF_8))) {
      ordered.forEach(w::println);
    }
    Files.move(tmp, output, StandardCopyOption.REPLACE_EXISTING,
        StandardCopyOption.ATOMIC_MOVE);
  }

  /** Counts of this run for the closing summary. */
  static final class SubmitSummary {
    private final List<Long> latenciesMs = new ArrayList<>();
    private final Map<String, Integer> errorsByType = new TreeMap<>();
    private final Map<String, Integer> unansweredByReason = new TreeMap<>();
    private long promptTokens;
    private long completionTokens;
    private final long startNanos = System.nanoTime();

    synchronized void answered(ResultView r, long latencyNanos) {
      latenciesMs.add(latencyNanos / 1_000_000);
      promptTokens += r.promptTokens();
      completionTokens += r.completionTokens();
      if (r.isError()) {
        errorsByType.merge(r.errorType(), 1, Integer::sum);
      }
    }

    synchronized void unanswered(String reason) {
      unansweredByReason.merge(reason, 1, Integer::sum);
    }

    synchronized void print(PrintStream err, int total, int sent, int unanswered,
        int errorResults) {
      double seconds = (System.nanoTime() - startNanos) / 1e9;
      List<Long> sorted = latenciesMs.stream().sorted().toList();
      err.printf("sent %d of %d requests (%d answered before) in %.1f s; answered %d "
          + "this run%n", sent, total, total - sent, seconds, sorted.size());
      err.printf("results: %d of %d answered, %d with an error result, %d without a "
          + "result%n", total - unanswered, total, errorResults, unanswered);
      if (!errorsByType.isEmpty()) {
        err.println("errors this run by type: " + errorsByType);
      }
      if (!unansweredByReason.isEmpty()) {
        err.println("no result this run: " + unansweredByReason);
      }
      if (!sorted.isEmpty()) {
        err.printf("latency p50 %d ms, p95 %d ms; tokens in %d, out %d%n",
            percentile(sorted, 0.50), percentile(sorted, 0.95), promptTokens,
            completionTokens);
      }
      err.flush();
    }

    private static long percentile(List<Long> sorted, double q) {
      int i = (int) Math.ceil(q * sorted.size()) - 1;
      return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
    }
  }
}
