package io.kvw.worker.intake;

import java.time.Duration;

/**
 * The intake seam, loop side: what the worker needs from the thread that takes records from
 * Kafka and hands them to admission. {@link PollLoop} is the consumer-group intake; a
 * share-group intake ({@code KafkaShareConsumer}, KIP-932) can take its place behind this
 * interface and {@link RecordHandle}, without touching admission, dispatch or publishing.
 */
public interface Intake extends Runnable {

  /** Asks the intake to drain and stop; returns at once. */
  void stop();

  /** Waits for the intake to finish its drain. */
  boolean awaitStopped(Duration timeout) throws InterruptedException;

  /** Nanotime of the latest poll, for liveness. */
  long lastPollNanos();

  /** Whether intake holds back (buffer full or backend outage). */
  boolean paused();

  /** Whether the intake has been given records to read at least once (readiness). */
  boolean joined();
}
