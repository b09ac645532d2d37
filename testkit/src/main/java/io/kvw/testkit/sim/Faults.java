package io.kvw.testkit.sim;

import io.grpc.Status;
import java.time.Duration;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Switches a test flips at run time to make the simulator misbehave the ways a real server
 * does. Thread-safe; every switch applies to calls that arrive after it is flipped. The
 * fractions draw from one seeded random sequence, so a single-threaded test sees the same
 * calls fail on every run.
 */
public final class Faults {
  /** The seed a new simulator starts with; {@link #seed(long)} changes it. */
  public static final long DEFAULT_SEED = 42;

  private final Random random = new Random(DEFAULT_SEED);
  private volatile boolean unavailable;
  private volatile Status.Code failNextCode;
  private final AtomicInteger failNextCount = new AtomicInteger();
  private volatile Status.Code failRateCode;
  private volatile double failRate;
  private volatile Duration slowExtra = Duration.ZERO;
  private volatile double slowRate;
  private volatile double hangRate;
  private volatile String slowMarker;
  private volatile Duration slowMarkerExtra = Duration.ZERO;

  /** Every Generate and HealthCheck fails with UNAVAILABLE, as a server that is restarting. */
  public Faults unavailable(boolean on) {
    this.unavailable = on;
    return this;
  }

  /** The next {@code count} Generate calls fail with {@code code}. */
  public Faults failNext(Status.Code code, int count) {
    this.failNextCode = code;
    this.failNextCount.set(count);
    return this;
  }

  /** A fraction of Generate calls fail with {@code code}. */
  public Faults failRate(Status.Code code, double fraction) {
    this.failRateCode = code;
    this.failRate = fraction;
    return this;
  }

  /** A fraction of Generate calls take {@code extra} longer before their first token. */
  public Faults slow(Duration extra, double fraction) {
    this.slowExtra = extra;
    this.slowRate = fraction;
    return this;
  }

  /**
   * Every Generate call whose prompt contains {@code marker} takes {@code extra} longer
   * before its first token, on every attempt: a request the backend is always too slow for.
   */
  public Faults slowPromptsContaining(String marker, Duration extra) {
    this.slowMarker = marker;
    this.slowMarkerExtra = extra;
    return this;
  }

  /** A fraction of Generate calls never answer (until the client cancels). */
  public Faults hang(double fraction) {
    this.hangRate = fraction;
    return this;
  }

  /** Restarts the random sequence behind the fractions (failRate, slow, hang). */
  public Faults seed(long seed) {
    random.setSeed(seed);
    return this;
  }

  /** Back to a healthy server. */
  public Faults reset() {
    unavailable = false;
    failNextCount.set(0);
    failRate = 0;
    slowRate = 0;
    hangRate = 0;
    slowMarker = null;
    return this;
  }

  boolean isUnavailable() {
    return unavailable;
  }

  /** The status this call should fail with, or null. */
  Status.Code failureFor() {
    if (unavailable) {
      return Status.Code.UNAVAILABLE;
    }
    if (failNextCount.get() > 0 && failNextCount.getAndDecrement() > 0) {
      return failNextCode;
    }
    if (failRate > 0 && random.nextDouble() < failRate) {
      return failRateCode;
    }
    return null;
  }

  Duration extraDelay(String prompt) {
    String marker = slowMarker;
    if (marker != null && prompt.contains(marker)) {
      return slowMarkerExtra;
    }
    return slowRate > 0 && random.nextDouble() < slowRate ? slowExtra
        : Duration.ZERO;
  }

  boolean hangs() {
    return hangRate > 0 && random.nextDouble() < hangRate;
  }
}
