package io.kvw.worker.intake.share;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvw.worker.observe.WorkerMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/** What a share worker may acquire: a slice per share consumer, bounded by its permits. */
class ShareIntakeBoundTest {

  private static ShareIntake intake(int maxBuffered, int batch, AtomicInteger permits) {
    return new ShareIntake(List.of(), "requests", null,
        new ShareGroupSettings(Duration.ofSeconds(30), 5, true), maxBuffered, batch,
        Duration.ofSeconds(5), new WorkerMetrics(new SimpleMeterRegistry()), () -> false,
        permits::get);
  }

  @Test
  void eachShareConsumerFetchesItsSliceOfThreeTimesThePermits() {
    assertThat(ShareIntake.batchFor(16, 4, 64)).isEqualTo(12);
    assertThat(ShareIntake.batchFor(256, 4, 1024)).isEqualTo(192);
    assertThat(ShareIntake.batchFor(256, 8, 1024)).isEqualTo(96);
    assertThat(ShareIntake.batchFor(256, 1, 1024)).as("at most the clients' default")
        .isEqualTo(500);
    assertThat(ShareIntake.batchFor(256, 4, 100)).as("at most the buffer").isEqualTo(100);
    assertThat(ShareIntake.batchFor(1, 64, 4)).isEqualTo(1);
  }

  @Test
  void aWorkerAcquiresAtMostThreeTimesItsCurrentLimitWithinItsBuffer() {
    AtomicInteger permits = new AtomicInteger(16);
    ShareIntake intake = intake(64, 12, permits);
    for (int i = 0; i < 4; i++) {
      assertThat(intake.reserve(12)).isEqualTo(12);
    }
    assertThat(intake.reserve(12)).as("48 open: three times 16 permits").isZero();
    assertThat(intake.paused()).isTrue();
    intake.release(12);
    assertThat(intake.reserve(12)).isEqualTo(12);

    permits.set(4); // adaptive concurrency lowered the limit: no new batch until records finish
    intake.release(24);
    assertThat(intake.open()).isEqualTo(24);
    assertThat(intake.reserve(12)).isZero();
    intake.release(24);
    assertThat(intake.reserve(12)).as("one batch even when it is more than 3 x the limit")
        .isEqualTo(12);

    permits.set(256); // a raised limit: the buffer bounds it
    assertThat(intake.reserve(12)).isEqualTo(12);
    assertThat(intake.reserve(12)).isEqualTo(12);
    assertThat(intake.reserve(12)).isEqualTo(12);
    assertThat(intake.reserve(12)).isEqualTo(12);
    assertThat(intake.reserve(12)).as("60 open of worker.max-buffered 64").isZero();
  }
}
