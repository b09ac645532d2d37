package io.kvw.worker.intake;

/**
 * Decides when intake pauses and resumes so that at most {@code maxBuffered} records live
 * between poll and outcome (DESIGN.md, promise 3).
 *
 * <p>A poll returns at most {@code maxPollRecords}, so intake may poll only while
 * {@code open + maxPollRecords <= maxBuffered}; past that it pauses its partitions (and goes on
 * polling, which keeps its group membership). It resumes once the open count has fallen to
 * the low watermark, half of {@code maxBuffered}, so it does not flap on every record.
 */
public final class FlowControl {
  private final int maxBuffered;
  private final int maxPollRecords;
  private final int resumeAt;

  public FlowControl(int maxBuffered, int maxPollRecords) {
    if (maxPollRecords > maxBuffered) {
      throw new IllegalArgumentException("max.poll.records (" + maxPollRecords
          + ") must not exceed worker.max-buffered (" + maxBuffered + ")");
    }
    this.maxBuffered = maxBuffered;
    this.maxPollRecords = maxPollRecords;
    this.resumeAt = Math.min(maxBuffered / 2, maxBuffered - maxPollRecords);
  }

  /** The default {@code max.poll.records} for a buffer: a quarter of it, at most 500. */
  public static int defaultMaxPollRecords(int maxBuffered) {
    return Math.max(1, Math.min(500, maxBuffered / 4));
  }

  /** Whether a poll may return records now, given the records still open. */
  public boolean mayPoll(int open, boolean pausedNow) {
    return pausedNow ? open <= resumeAt : open + maxPollRecords <= maxBuffered;
  }

  public int maxBuffered() {
    return maxBuffered;
  }

  public int maxPollRecords() {
    return maxPollRecords;
  }
}
