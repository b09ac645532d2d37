package io.kvw.worker.observe;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class DrainEstimateTest {
  private static final long SECOND = 1_000_000_000L;

  @Test
  void theBacklogDividedByTheRecentRate() {
    DrainEstimate d = new DrainEstimate(Duration.ofSeconds(60));
    d.update(0, 1000, 0);
    assertThat(d.seconds()).as("no progress seen yet").isNaN();
    d.update(10 * SECOND, 900, 100); // 10 records/s
    assertThat(d.ratePerSecond()).isEqualTo(10.0);
    assertThat(d.seconds()).isEqualTo(90.0);
    d.update(20 * SECOND, 0, 200);
    assertThat(d.seconds()).isZero();
  }

  @Test
  void onlyTheLastWindowCounts() {
    DrainEstimate d = new DrainEstimate(Duration.ofSeconds(10));
    d.update(0, 1000, 0);
    d.update(5 * SECOND, 1000, 500); // a burst, long ago by the end
    d.update(30 * SECOND, 1000, 500);
    d.update(40 * SECOND, 1000, 520); // 2 records/s over the last 10 s
    assertThat(d.ratePerSecond()).isEqualTo(2.0);
    assertThat(d.seconds()).isEqualTo(500.0);
  }
}
