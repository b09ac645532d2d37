package io.kvw.testkit.sim;

import io.grpc.stub.ServerCallStreamObserver;
import io.kvw.proto.vllm.GenerateComplete;
import io.kvw.proto.vllm.GenerateResponse;
import io.kvw.proto.vllm.GenerateStreamChunk;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Collection;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The simulator's scheduler, modelled on vLLM's: at most {@code maxNumSeqs} requests run at
 * once and the rest wait in a FIFO queue. A running request produces its first token after
 * the time to first token and each further token one time-per-output-token later. Timers, not
 * threads: thousands of open streams cost a few objects each.
 */
final class SimEngine implements AutoCloseable {
  private final Duration ttft;
  private final Duration tpot;
  private final Duration streamInterval;
  private final int maxNumSeqs;
  private final SimStats stats;
  private final ScheduledExecutorService timer;
  private final ArrayDeque<Sequence> waiting = new ArrayDeque<>();
  private final Map<String, Sequence> byId = new ConcurrentHashMap<>();
  private int running;

  SimEngine(Duration ttft, Duration tpot, Duration streamInterval, int maxNumSeqs,
      SimStats stats) {
    this.ttft = ttft;
    this.tpot = tpot;
    this.streamInterval = streamInterval;
    this.maxNumSeqs = maxNumSeqs;
    this.stats = stats;
    this.timer = Executors.newScheduledThreadPool(2, r -> {
      Thread t = new Thread(r, "vllm-sim-timer");
      t.setDaemon(true);
      return t;
    });
  }

  /**
   * What a request asked to see besides its tokens.
   *
   * @param logprobs top alternatives per output token, or null for no logprobs
   * @param promptLogprobs the same for the prompt, or null
   * @param matched per sample, the stop token id (Integer) or stop string that ended it
   */
  record Details(int[] prompt, Integer logprobs, Integer promptLogprobs, int vocabSize,
      Object[] matched) {}

  /** One request: its outputs are fixed up front; time decides when they are sent. */
  final class Sequence {
    final String id;
    final ServerCallStreamObserver<GenerateResponse> observer;
    final int[][] outputs;
    final String[] finishReasons;
    final int promptTokens;
    final boolean stream;
    final Duration extraDelay;
    final boolean hang;
    final Details details;
    /** When the call reached the service, for {@link ServiceTimes}. */
    final long arrivalNanos;
    private int sent;
    private boolean done;
    private boolean started;
    private long startNanos;
    private ScheduledFuture<?> next;

    Sequence(String id, ServerCallStreamObserver<GenerateResponse> observer, int[][] outputs,
        String[] finishReasons, int promptTokens, boolean stream, Duration extraDelay,
        boolean hang, Details details, long arrivalNanos) {
      this.id = id;
      this.arrivalNanos = arrivalNanos;
      this.observer = observer;
      this.outputs = outputs;
      this.finishReasons = finishReasons;
      this.promptTokens = promptTokens;
      this.stream = stream;
      this.extraDelay = extraDelay;
      this.hang = hang;
      this.details = details;
    }

    private int length() {
      int max = 0;
      for (int[] o : outputs) {
        max = Math.max(max, o.length);
      }
      return max;
    }

    /** Nanoseconds after start at which token {@code i} (0-based) exists. */
    private long tokenDueNanos(int i) {
      return ttft.toNanos() + extraDelay.toNanos() + (long) i * tpot.toNanos();
    }

    synchronized void begin() {
      if (done) {
        return;
      }
      started = true;
      startNanos = System.nanoTime();
      if (hang) {
        return; // holds its slot until cancelled or aborted
      }
      int len = length();
      if (!stream || len == 0) {
        schedule(tokenDueNanos(Math.max(0, len - 1)), this::finish);
      } else {
        schedule(tokenDueNanos(0), this::emit);
      }
    }

    private void schedule(long atNanosAfterStart, Runnable task) {
      long delay = startNanos + atNanosAfterStart - System.nanoTime();
      if (delay <= 0 && atNanosAfterStart == 0) {
        task.run(); // zero-delay mode: no hop through the timer, for overhead benchmarks
        return;
      }
      next = timer.schedule(task, Math.max(0, delay), TimeUnit.NANOSECONDS);
    }

    /** Sends every token due by now, then schedules the next batch or the end. */
    private synchronized void emit() {
      if (done) {
        return;
      }
      long elapsed = System.nanoTime() - startNanos;
      int len = length();
      int due = sent;
      while (due < len && tokenDueNanos(due) <= elapsed) {
        due++;
      }
      if (due > sent) {
        for (int s = 0; s < outputs.length; s++) {
          int[] o = outputs[s];
          if (sent >= o.length) {
            continue;
          }
          GenerateStreamChunk.Builder chunk = GenerateStreamChunk.newBuilder().setIndex(s)
              .setPromptTokens(promptTokens).setCompletionTokens(Math.min(due, o.length));
          for (int i = sent; i < Math.min(due, o.length); i++) {
            chunk.addTokenIds(o[i]);
          }
          if (details.logprobs() != null) {
            chunk.setOutputLogprobs(SimLogprobs.output(o, sent, Math.min(due, o.length),
                details.logprobs(), details.vocabSize()));
          }
          if (sent == 0 && details.promptLogprobs() != null) {
            chunk.setInputLogprobs(SimLogprobs.prompt(details.prompt(),
                details.promptLogprobs(), details.vocabSize()));
          }
          observer.onNext(GenerateResponse.newBuilder().setChunk(chunk).build());
        }
        sent = due;
      }
      if (sent >= len) {
        finish();
        return;
      }
      long nextAt = Math.max(tokenDueNanos(sent), elapsed + streamInterval.toNanos());
      schedule(nextAt, this::emit);
    }

    private synchronized void finish() {
      complete(null);
    }

    /** Ends the request: all outputs, or only what was sent when {@code reason} is given. */
    synchronized boolean complete(String overrideReason) {
      if (done) {
        return false;
      }
      done = true;
      if (next != null) {
        next.cancel(false);
      }
      byId.remove(id, this);
      // an aborted stream ends with what the client already has; an aborted non-streaming
      // request with the tokens generated so far, as vLLM returns them
      int made = overrideReason == null ? Integer.MAX_VALUE
          : stream ? sent : generatedSoFar();
      try {
        for (int s = 0; s < outputs.length; s++) {
          int[] o = outputs[s];
          int count = Math.min(made, o.length);
          GenerateComplete.Builder c = GenerateComplete.newBuilder().setIndex(s)
              .setFinishReason(overrideReason == null ? finishReasons[s] : overrideReason)
              .setPromptTokens(promptTokens).setCompletionTokens(count).setCachedTokens(0);
          for (int i = 0; i < count; i++) {
            c.addOutputIds(o[i]);
          }
          if (details.logprobs() != null) {
            c.setOutputLogprobs(SimLogprobs.output(o, 0, count, details.logprobs(),
                details.vocabSize()));
          }
          if (details.promptLogprobs() != null) {
            c.setInputLogprobs(SimLogprobs.prompt(details.prompt(), details.promptLogprobs(),
                details.vocabSize()));
          }
          Object matched = overrideReason == null ? details.matched()[s] : null;
          if (matched instanceof Integer id) {
            c.setMatchedTokenId(id);
          } else if (matched instanceof String stop) {
            c.setMatchedStopStr(stop);
          }
          observer.onNext(GenerateResponse.newBuilder().setComplete(c).build());
        }
        observer.onCompleted();
      } catch (RuntimeException e) {
        // the client went away meanwhile; nothing to tell it
      }
      if (overrideReason == null) {
        stats.serviceTimes.record(id, arrivalNanos, System.nanoTime());
        stats.completed.incrementAndGet();
        stats.promptTokens.addAndGet(promptTokens);
        for (int[] o : outputs) {
          stats.completionTokens.addAndGet(o.length);
        }
      }
      release(this);
      return true;
    }

    private int generatedSoFar() {
      if (!started || hang) {
        return 0;
      }
      long elapsed = System.nanoTime() - startNanos;
      int len = length();
      int made = 0;
      while (made < len && tokenDueNanos(made) <= elapsed) {
        made++;
      }
      return made;
    }

    /** The client cancelled or its deadline passed: stop without answering. */
    synchronized void cancelled() {
      if (done) {
        return;
      }
      done = true;
      if (next != null) {
        next.cancel(false);
      }
      byId.remove(id, this);
      stats.cancelled.incrementAndGet();
      release(this);
    }

    synchronized boolean isStarted() {
      return started;
    }
  }

  /**
   * Runs {@code task} once a prefill's time (ttft plus {@code extra}) has passed: an
   * embedding, which is one forward pass and no decode. Embeddings take no sequence slot.
   */
  void afterPrefill(Duration extra, Runnable task) {
    long delay = ttft.toNanos() + extra.toNanos();
    if (delay <= 0) {
      task.run();
    } else {
      timer.schedule(task, delay, TimeUnit.NANOSECONDS);
    }
  }

  /** Queues or starts a sequence. */
  void submit(Sequence s) {
    byId.put(s.id, s);
    s.observer.setOnCancelHandler(s::cancelled);
    boolean startNow;
    synchronized (this) {
      startNow = running < maxNumSeqs;
      if (startNow) {
        running++;
      } else {
        waiting.addLast(s);
      }
      updateGauges();
    }
    if (startNow) {
      s.begin();
    }
  }

  /** A sequence ended (any way): free its slot or take it off the queue. */
  private void release(Sequence s) {
    Sequence next = null;
    synchronized (this) {
      if (!waiting.remove(s)) {
        running--;
        while (next == null && !waiting.isEmpty()) {
          next = waiting.pollFirst();
        }
        if (next != null) {
          running++;
        }
      }
      updateGauges();
    }
    if (next != null) {
      Sequence n = next;
      timer.execute(n::begin);
    }
  }

  private void updateGauges() {
    stats.running.set(running);
    stats.waiting.set(waiting.size());
    stats.maxRunning.accumulateAndGet(running, Math::max);
    stats.maxWaiting.accumulateAndGet(waiting.size(), Math::max);
  }

  /** vLLM's Abort: the named requests end now with finish reason "abort". */
  void abort(Collection<String> ids) {
    for (String id : ids) {
      Sequence s = byId.get(id);
      if (s != null && s.complete("abort")) {
        stats.aborted.incrementAndGet();
      }
    }
  }

  /** Cancels everything (the server is going away). */
  void cancelAll() {
    for (Sequence s : byId.values()) {
      s.cancelled();
    }
  }

  synchronized int running() {
    return running;
  }

  synchronized int waitingCount() {
    return waiting.size();
  }

  int maxNumSeqs() {
    return maxNumSeqs;
  }

  @Override
  public void close() {
    cancelAll();
    timer.shutdownNow();
  }
}
