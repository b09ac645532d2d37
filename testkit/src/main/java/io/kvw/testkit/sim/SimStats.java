package io.kvw.testkit.sim;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/** What the simulator saw, for assertions and benchmarks. */
public final class SimStats {
  final AtomicLong received = new AtomicLong();
  final AtomicLong completed = new AtomicLong();
  final AtomicLong failed = new AtomicLong();
  final AtomicLong aborted = new AtomicLong();
  final AtomicLong cancelled = new AtomicLong();
  final AtomicLong promptTokens = new AtomicLong();
  final AtomicLong completionTokens = new AtomicLong();
  final AtomicInteger running = new AtomicInteger();
  final AtomicInteger waiting = new AtomicInteger();
  final AtomicInteger maxRunning = new AtomicInteger();
  final AtomicInteger maxWaiting = new AtomicInteger();
  final RequestLog requestLog = new RequestLog();
  final ServiceTimes serviceTimes = new ServiceTimes();

  /** Each request's time in the simulator, once enabled. */
  public ServiceTimes serviceTimes() {
    return serviceTimes;
  }

  /** The request ids of every Generate call received. */
  public RequestLog requestLog() {
    return requestLog;
  }

  /** Generate calls received. */
  public long received() {
    return received.get();
  }

  /** Generate calls answered in full. */
  public long completed() {
    return completed.get();
  }

  /** Prompt tokens of the calls answered in full (once per call, whatever {@code n}). */
  public long promptTokens() {
    return promptTokens.get();
  }

  /** Tokens generated for the calls answered in full, over all their samples. */
  public long completionTokens() {
    return completionTokens.get();
  }

  /** Generate calls failed by an injected fault or a bad request. */
  public long failed() {
    return failed.get();
  }

  /** Requests ended by {@code Abort}. */
  public long aborted() {
    return aborted.get();
  }

  /** Requests the client cancelled (deadline or cancellation). */
  public long cancelled() {
    return cancelled.get();
  }

  /** Sequences running now. */
  public int running() {
    return running.get();
  }

  /** Requests waiting for a running slot now. */
  public int waiting() {
    return waiting.get();
  }

  /** The most sequences that ever ran at once. */
  public int maxRunning() {
    return maxRunning.get();
  }

  /** The longest the waiting queue ever was. */
  public int maxWaiting() {
    return maxWaiting.get();
  }

  @Override
  public String toString() {
    return "received=" + received() + " completed=" + completed() + " failed=" + failed()
        + " promptTokens=" + promptTokens() + " completionTokens=" + completionTokens()
        + " aborted=" + aborted() + " cancelled=" + cancelled() + " running=" + running()
        + " waiting=" + waiting() + " maxRunning=" + maxRunning() + " maxWaiting="
        + maxWaiting();
  }
}
