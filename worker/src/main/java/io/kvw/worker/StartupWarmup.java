package io.kvw.worker;

import io.kvw.common.Decoded;
import io.kvw.common.InferenceResult;
import io.kvw.common.Output;
import io.kvw.common.RecordSource;
import io.kvw.common.RequestCodec;
import io.kvw.common.ResultCodec;
import io.kvw.common.Timing;
import io.kvw.common.Usage;
import io.kvw.worker.backend.InferenceBackend;
import io.kvw.worker.backend.PromptPreparer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs synthetic records through the worker's per-record code before intake opens: decoding a
 * request, preparing its prompt (chat template and tokenizer), encoding a result, a few
 * {@code GetLoads} round trips, and beside them real {@code Generate} calls of one token
 * ({@link WarmupCalls}) on the backend's channels. A cold JVM interprets all of that for the
 * first thousands of records, and on a small machine the compiler then competes with the
 * records for the same cores, so the first seconds ran at a third of the steady rate. Nothing
 * here reaches Kafka: no record is read or written.
 */
final class StartupWarmup {
  private static final Logger log = LoggerFactory.getLogger(StartupWarmup.class);
  private static final RecordSource SOURCE = new RecordSource("warmup", 0, 0);

  private StartupWarmup() {}

  /** What a warm-up ran. */
  record Ran(int rounds, int calls) {}

  /**
   * Spends up to {@code budget} (0: nothing) on synthetic rounds and, beside them, up to
   * {@code calls} one-token {@code Generate} calls; returns what it ran.
   */
  static Ran run(Duration budget, RequestCodec requests, ResultCodec results,
      InferenceBackend backend, int calls) {
    if (budget.isZero()) {
      return new Ran(0, 0);
    }
    long start = System.nanoTime();
    long end = start + budget.toNanos();
    WarmupCalls generate = WarmupCalls.start(backend, requests, results, calls, end);
    PromptPreparer prompts = backend.prompts();
    int rounds = 0;
    do { // each path at least once, however short the budget
      round(rounds++, requests, results, prompts);
      if (rounds % 500 == 0) {
        loadRoundTrip(backend);
      }
    } while (System.nanoTime() < end && rounds < 20_000);
    int answered;
    try {
      answered = generate.await();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      answered = 0;
    }
    log.info("warmed the record path up with {} synthetic records and {} Generate calls in {} "
        + "ms", rounds, answered, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
    return new Ran(rounds, answered);
  }

  private static void round(int i, RequestCodec requests, ResultCodec results,
      PromptPreparer prompts) {
    // a prompt and a chat in turn, of varying length, so both paths and the tokenizer's
    // longer inputs are compiled
    String words = "warm up request " + i + " of the worker's record path".repeat(1 + i % 4);
    String json = i % 2 == 0
        ? "{\"id\":\"warmup-" + i + "\",\"prompt\":\"" + words + "\",\"params\":{\"max_tokens\""
            + ":16,\"temperature\":0.7},\"metadata\":{\"tenant\":\"warmup\"}}"
        : "{\"id\":\"warmup-" + i + "\",\"messages\":[{\"role\":\"user\",\"content\":\""
            + words + "\"}],\"params\":{\"max_tokens\":16}}";
    Decoded decoded = requests.decode(json.getBytes(StandardCharsets.UTF_8), SOURCE,
        System.currentTimeMillis());
    if (!(decoded instanceof Decoded.Accepted accepted)) {
      return;
    }
    try {
      prompts.prepare(accepted.request());
    } catch (PromptPreparer.InvalidPromptException e) {
      // a model without a chat template refuses chats; the prompt rounds still ran
    }
    results.encode(InferenceResult.success(accepted.request().id(), "warmup",
        List.of(new Output(0, words, "stop")), new Usage(12, 16, 0), new Timing(1, 2, 3, 4), 1,
        accepted.request().metadata(), SOURCE));
  }

  private static void loadRoundTrip(InferenceBackend backend) {
    try {
      backend.load().get(1, TimeUnit.SECONDS);
    } catch (Exception e) {
      // a server without GetLoads, or a slow one: warming is best effort
    }
  }
}
