package io.kvw.worker.intake;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * Parks the intake thread while its partitions are paused for a full buffer, and wakes it as
 * soon as finished records bring the open count down to where it may poll again. A paused
 * consumer's poll sleeps its whole timeout (100 ms) whatever finishes meanwhile: with an
 * instant backend the worker finished the 1,024 records it held in about half of that and then
 * sat idle, its backend calls at zero, for the rest.
 *
 * <p>{@link #recordDone} runs on whichever thread finishes a record, for every record: it costs
 * a volatile read unless the intake is parked.
 */
final class ResumeSignal {
  private final Object lock = new Object();
  private final FlowControl flow;
  private final IntSupplier open;
  private volatile boolean parked;

  ResumeSignal(FlowControl flow, IntSupplier open) {
    this.flow = flow;
    this.open = open;
  }

  /** A record finished (its open count already lowered): wakes a parked intake if it may poll. */
  void recordDone() {
    if (parked && flow.mayPoll(open.getAsInt(), true)) {
      wake();
    }
  }

  /** Wakes a parked intake whatever the open count (stopping). */
  void wake() {
    synchronized (lock) {
      parked = false;
      lock.notifyAll();
    }
  }

  /**
   * Returns once the open count allows a paused intake to poll again, {@link #wake} is called,
   * or {@code max} passes. An interrupt returns at once, the thread's flag set again.
   */
  void awaitResumable(Duration max) {
    long deadline = System.nanoTime() + max.toNanos();
    synchronized (lock) {
      // parked is set before the open count is read, and a finishing record lowers the count
      // before it reads parked: one of the two sees the other, so no wake-up is missed
      parked = true;
      try {
        while (parked && !flow.mayPoll(open.getAsInt(), true)) {
          long left = deadline - System.nanoTime();
          if (left <= 0) {
            break;
          }
          TimeUnit.NANOSECONDS.timedWait(lock, left);
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      } finally {
        parked = false;
      }
    }
  }
}
