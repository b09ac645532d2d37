package io.kvw.worker;

import io.kvw.common.Decoded;
import io.kvw.common.InferenceRequest;
import io.kvw.common.InferenceResult;
import io.kvw.common.RecordSource;
import io.kvw.common.RequestCodec;
import io.kvw.common.ResultCodec;
import io.kvw.common.Timing;
import io.kvw.worker.backend.GenerationCall;
import io.kvw.worker.backend.InferenceBackend;
import io.kvw.worker.backend.Prompt;
import io.kvw.worker.backend.PromptPreparer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Real {@code Generate} calls on the backend's channels during the start-up warm-up: a short
 * prompt and {@code max_tokens=1}, a few at a time, each answer encoded as a result. They run
 * the code that local rounds cannot reach (the gRPC call start, the HTTP/2 and protobuf
 * framing both ways, the response observer and its callback threads), so a cold worker's
 * first records do not take several times the server's own time in the worker. What it costs
 * the server: at most {@link #IN_FLIGHT} tiny requests at a time, one output token each.
 */
final class WarmupCalls {
  /** Calls kept in flight: small beside any server's batch, enough to use the callbacks. */
  static final int IN_FLIGHT = 64;
  private static final RecordSource SOURCE = new RecordSource("warmup", 0, 0);
  private static final Duration TIMEOUT = Duration.ofSeconds(5);

  private final InferenceBackend backend;
  private final ResultCodec results;
  private final InferenceRequest request;
  private final Prompt prompt;
  private final int max;
  private final long stopAtNanos;
  private final String prefix = "warmup-" + Long.toString(
      ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE, 36) + "-";
  private final AtomicInteger started = new AtomicInteger();
  private final AtomicInteger answered = new AtomicInteger();
  private final CountDownLatch done;

  private WarmupCalls(InferenceBackend backend, ResultCodec results, InferenceRequest request,
      Prompt prompt, int max, long stopAtNanos) {
    this.backend = backend;
    this.results = results;
    this.request = request;
    this.prompt = prompt;
    this.max = max;
    this.stopAtNanos = stopAtNanos;
    this.done = new CountDownLatch(Math.min(IN_FLIGHT, max));
  }

  /**
   * Starts up to {@code max} calls (0: none), {@link #IN_FLIGHT} at a time, until
   * {@code stopAtNanos}; returns at once.
   */
  static WarmupCalls start(InferenceBackend backend, RequestCodec requests, ResultCodec results,
      int max, long stopAtNanos) {
    String json = "{\"id\":\"warmup\",\"prompt\":\"warm up\",\"params\":{\"max_tokens\":1}}";
    InferenceRequest request = null;
    Prompt prompt = null;
    if (max > 0 && requests.decode(json.getBytes(StandardCharsets.UTF_8), SOURCE,
        System.currentTimeMillis()) instanceof Decoded.Accepted accepted) {
      try {
        request = accepted.request();
        prompt = backend.prompts().prepare(request);
      } catch (PromptPreparer.InvalidPromptException e) {
        request = null;
      }
    }
    WarmupCalls calls = new WarmupCalls(backend, results, request,
        prompt, request == null ? 0 : max, stopAtNanos);
    if (calls.max > 0) {
      calls.next(true);
    }
    return calls;
  }

  /**
   * Each lane starts its next call when the last one ends, until the time or count is up. The
   * first call goes alone: only once it is answered do the other lanes open, so a server that
   * refuses sees one call, not a burst that would open the worker's circuit to it.
   */
  private void next(boolean first) {
    int n = started.getAndIncrement();
    if (n >= max || System.nanoTime() >= stopAtNanos) {
      close(first);
      return;
    }
    String id = prefix + n;
    backend.generate(new GenerationCall(id, request, TIMEOUT, null, prompt))
        .whenComplete((generation, e) -> {
          if (e != null) {
            close(first); // a server that refuses: warming is best effort
            return;
          }
          answered.incrementAndGet();
          results.encode(InferenceResult.success(request.id(), "warmup", generation.outputs(),
              generation.usage(), new Timing(0, generation.ttftMs(), generation.backendMs(),
                  generation.backendMs()), 1, request.metadata(), SOURCE));
          if (first) {
            for (int lane = 1; lane < Math.min(IN_FLIGHT, max); lane++) {
              next(false);
            }
          }
          next(false);
        });
  }

  /** Ends a lane; the first call's end also ends the lanes it never opened. */
  private void close(boolean first) {
    for (int lane = first ? Math.min(IN_FLIGHT, max) : 1; lane > 0; lane--) {
      done.countDown();
    }
  }

  /**
   * Waits up to a second for the calls still in flight (the rest finish on their own; their
   * answers are only encoded); returns the calls answered.
   */
  int await() throws InterruptedException {
    done.await(1, TimeUnit.SECONDS);
    return answered.get();
  }
}
