package io.kvw.worker.dispatch.limit;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvw.common.InferenceRequest;
import io.kvw.common.SamplingParams;
import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.backend.GenerationCall;
import io.kvw.worker.backend.InferenceBackend;
import io.kvw.worker.backend.VllmBackendFactory;
import io.kvw.worker.config.WorkerConfig;
import io.kvw.worker.dispatch.ConcurrencyLimiter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The adaptive limit end to end over a real loopback socket: two "workers" (each its own gRPC
 * backend, limiter and {@link AdaptiveConcurrency}) keep a backlog against one simulator and
 * must share it evenly, keep it busy and keep its queue short, from nothing but the server's
 * {@code GetLoads} answers.
 */
class AdaptiveConcurrencyTest {
  private static final int SLOTS = 32;
  private final List<AutoCloseable> open = new ArrayList<>();
  private final AtomicBoolean stopping = new AtomicBoolean();

  @AfterEach
  void close() throws Exception {
    stopping.set(true);
    for (int i = open.size() - 1; i >= 0; i--) {
      open.get(i).close();
    }
  }

  /** One worker's dispatch path, reduced to what the limit needs: a backlog behind a limiter. */
  private final class BacklogWorker {
    final ConcurrencyLimiter limiter = new ConcurrencyLimiter(4);
    final CallWindow window = new CallWindow();
    final AtomicLong answered = new AtomicLong();
    private final InferenceBackend backend;
    private final AtomicLong ids = new AtomicLong();

    BacklogWorker(VllmSimulator sim, ScheduledExecutorService scheduler, int backlog) {
      backend = new VllmBackendFactory().connect(WorkerConfig.of(Map.of("vllm.target",
          sim.target())), Duration.ofSeconds(10));
      open.add(backend);
      open.add(new AdaptiveConcurrency(backend, limiter, window, 1, 1024,
          Duration.ofMillis(100), scheduler));
      for (int i = 0; i < backlog; i++) {
        limiter.submit(this::call);
      }
    }

    /** Holds a permit for one Generate call, then queues the next: the backlog never ends. */
    private void call() {
      long start = System.nanoTime();
      InferenceRequest request = new InferenceRequest("a", null, "share the server evenly",
          null, SamplingParams.DEFAULTS, null, false, null);
      backend.generate(new GenerationCall(ids.incrementAndGet() + "-" + hashCode(), request,
          Duration.ofSeconds(30), null)).whenComplete((g, e) -> {
            window.record(System.nanoTime() - start, false);
            if (e == null) {
              answered.incrementAndGet();
            }
            limiter.release();
            if (!stopping.get()) {
              limiter.submit(this::call);
            }
          });
    }
  }

  @Test
  void twoWorkersOnOneServerShareItEvenlyAndKeepItsQueueShort() throws Exception {
    // 20 ms to the first token, 5 ms per token, 20 tokens: a call holds a slot about 115 ms
    VllmSimulator sim = VllmSimulator.builder().timeToFirstToken(Duration.ofMillis(20))
        .timePerOutputToken(Duration.ofMillis(5)).outputTokens(20).maxNumSeqs(SLOTS).build()
        .start();
    open.add(sim);
    ScheduledExecutorService scheduler = Executors.newScheduledThreadPool(2);
    open.add(scheduler::shutdownNow);
    BacklogWorker a = new BacklogWorker(sim, scheduler, 200);
    BacklogWorker b = new BacklogWorker(sim, scheduler, 200);

    Thread.sleep(4_000); // settle
    long answeredA = a.answered.get();
    long answeredB = b.answered.get();
    long completed = sim.stats().completed();
    long nanos = System.nanoTime();
    int[] waiting = new int[40];
    for (int i = 0; i < waiting.length; i++) {
      Thread.sleep(100);
      waiting[i] = sim.stats().waiting();
    }
    double seconds = (System.nanoTime() - nanos) / 1e9;
    double servedPerSecond = (sim.stats().completed() - completed) / seconds;
    double shareA = (double) (a.answered.get() - answeredA)
        / (a.answered.get() - answeredA + b.answered.get() - answeredB);

    assertThat(shareA).as("worker a's share").isBetween(0.35, 0.65);
    assertThat(a.limiter.limit() + b.limiter.limit()).as("limits together")
        .isBetween(SLOTS, SLOTS * 3);
    // capacity is 32 / 0.115 s = 278/s; a loaded two-core machine gets less, a starved
    // server far less
    assertThat(servedPerSecond).as("served per second").isGreaterThan(0.6 * SLOTS / 0.115);
    assertThat(java.util.Arrays.stream(waiting).average().orElseThrow())
        .as("mean queue on the server").isLessThan(SLOTS);
  }
}
