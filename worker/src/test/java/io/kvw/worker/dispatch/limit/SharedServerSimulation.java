package io.kvw.worker.dispatch.limit;

import io.kvw.worker.backend.BackendLoad;
import java.util.ArrayDeque;
import java.util.PriorityQueue;
import java.util.Random;
import java.util.function.Supplier;

/**
 * A deterministic, millisecond-by-millisecond model of workers sharing one vLLM server, for
 * testing limit rules under the timing that breaks naive ones: a request takes
 * {@code serviceMs} (±20 %, seeded) once it holds one of {@code maxNumSeqs} slots and waits in
 * a FIFO queue before that; calls and answers take {@code networkMs} each way; a lowered limit
 * takes effect only as calls finish (nothing is cancelled); every worker has a backlog and
 * adjusts its limit every {@code windowMs} at its own phase, reading the server's load at that
 * moment, as {@link AdaptiveConcurrency} does.
 */
final class SharedServerSimulation {
  private final int maxNumSeqs;
  private final int reportedMaxRunning;
  private final int serviceMs;
  private final int networkMs;
  private final int windowMs;
  private boolean reportsLoad = true;
  private final Random random = new Random(42);

  /** A call due somewhere at {@code at}, sent by {@code worker} at {@code sent}. */
  private record Call(long at, int worker, long sent) {}

  SharedServerSimulation(int maxNumSeqs, int serviceMs, int networkMs, int windowMs) {
    this(maxNumSeqs, maxNumSeqs, serviceMs, networkMs, windowMs);
  }

  /**
   * A server that runs at most {@code runs} at once but reports {@code reportedMaxRunning}
   * ({@code max_num_seqs}) in its load, as vLLM does when its KV cache, not its sequence cap, is
   * what limits it.
   */
  SharedServerSimulation(int runs, int reportedMaxRunning, int serviceMs, int networkMs,
      int windowMs) {
    this.maxNumSeqs = runs;
    this.reportedMaxRunning = reportedMaxRunning;
    this.serviceMs = serviceMs;
    this.networkMs = networkMs;
    this.windowMs = windowMs;
  }

  /** A server that answers no {@code GetLoads}: the rules see only their calls' latency. */
  SharedServerSimulation withoutLoadReports() {
    reportsLoad = false;
    return this;
  }

  /** What a run gave: completions per worker after the warm-up, and the limits over time. */
  record Run(long[] completed, double seconds, int[][] limitsEverySecond, int capacityPerSecond) {
    double total() {
      long sum = 0;
      for (long c : completed) {
        sum += c;
      }
      return sum;
    }

    double share(int worker) {
      return completed[worker] / total();
    }

    double ofCapacity() {
      return total() / seconds / capacityPerSecond;
    }
  }

  /**
   * Runs {@code workers} workers, each starting at {@code startLimits[w]}, for
   * {@code warmupMs + measureMs}; completions are counted over the last {@code measureMs}.
   */
  Run run(Supplier<LimitRule> rules, int[] startLimits, long warmupMs, long measureMs) {
    return run(rules, startLimits, new long[startLimits.length], warmupMs, measureMs);
  }

  /** The same, with worker {@code w} joining (sending its first call) at {@code joinAtMs[w]}. */
  Run run(Supplier<LimitRule> rules, int[] startLimits, long[] joinAtMs, long warmupMs,
      long measureMs) {
    int workers = startLimits.length;
    LimitRule[] rule = new LimitRule[workers];
    int[] limit = startLimits.clone();
    int[] inFlight = new int[workers];
    long[] completed = new long[workers];
    int[] phase = new int[workers];
    int[] windowCalls = new int[workers];
    long[] windowLatencyMs = new long[workers];
    for (int w = 0; w < workers; w++) {
      rule[w] = rules.get();
      phase[w] = (w * 37) % windowMs; // each worker's scheduler ticks at its own moment
    }
    ArrayDeque<Call> toServer = new ArrayDeque<>();
    ArrayDeque<Call> waiting = new ArrayDeque<>();
    PriorityQueue<Call> running = new PriorityQueue<>((a, b) -> Long.compare(a.at(), b.at()));
    ArrayDeque<Call> toWorker = new ArrayDeque<>();
    long end = warmupMs + measureMs;
    int[][] limits = new int[(int) (end / 1000)][];
    for (long now = 0; now < end; now++) {
      for (int w = 0; w < workers; w++) {
        while (now >= joinAtMs[w] && inFlight[w] < limit[w]) { // a backlog uses every permit
          inFlight[w]++;
          toServer.addLast(new Call(now + networkMs, w, now));
        }
      }
      while (!toServer.isEmpty() && toServer.peekFirst().at() <= now) {
        waiting.addLast(toServer.pollFirst());
      }
      while (!running.isEmpty() && running.peek().at() <= now) {
        Call done = running.poll();
        toWorker.addLast(new Call(now + networkMs, done.worker(), done.sent()));
      }
      while (running.size() < maxNumSeqs && !waiting.isEmpty()) {
        int jitter = (int) (serviceMs * 0.2 * (2 * random.nextDouble() - 1));
        Call next = waiting.pollFirst();
        running.add(new Call(now + serviceMs + jitter, next.worker(), next.sent()));
      }
      while (!toWorker.isEmpty() && toWorker.peekFirst().at() <= now) {
        Call answered = toWorker.pollFirst();
        int w = answered.worker();
        inFlight[w]--;
        windowCalls[w]++;
        windowLatencyMs[w] += now - answered.sent();
        if (now >= warmupMs) {
          completed[w]++;
        }
      }
      BackendLoad load = reportsLoad
          ? new BackendLoad(running.size(), waiting.size(), reportedMaxRunning) : null;
      for (int w = 0; w < workers; w++) {
        if (now % windowMs == phase[w] && now > joinAtMs[w]) {
          // a backlog waits behind the limit whenever the permits are all taken
          Observation o = new Observation(inFlight[w], 100, load, windowCalls[w],
              windowCalls[w] == 0 ? 0 : (double) windowLatencyMs[w] / windowCalls[w], 0);
          windowCalls[w] = 0;
          windowLatencyMs[w] = 0;
          limit[w] = Math.max(1, Math.min(4096, rule[w].next(limit[w], o)));
        }
      }
      if (now % 1000 == 999) {
        limits[(int) (now / 1000)] = limit.clone();
      }
    }
    return new Run(completed, measureMs / 1000.0, limits, maxNumSeqs * 1000 / serviceMs);
  }
}
