package io.kvw.worker.intake;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ResumeSignalTest {
  private final FlowControl flow = new FlowControl(1024, 256); // resumes at 512 open
  private final AtomicInteger open = new AtomicInteger(900);
  private final ResumeSignal signal = new ResumeSignal(flow, open::get);

  private CompletableFuture<Long> parkFor(Duration max) {
    return CompletableFuture.supplyAsync(() -> {
      long start = System.nanoTime();
      signal.awaitResumable(max);
      return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
    });
  }

  @Test
  void aParkedIntakeWakesAsSoonAsFinishedRecordsReachTheResumeLevel() throws Exception {
    CompletableFuture<Long> parked = parkFor(Duration.ofSeconds(30));
    Thread.sleep(100);
    // records finishing above the resume level leave it parked
    for (int i = 0; i < 300; i++) {
      open.decrementAndGet();
      signal.recordDone();
    }
    Thread.sleep(100);
    assertThat(parked).isNotDone(); // 600 open
    while (open.get() > 512) {
      open.decrementAndGet();
      signal.recordDone();
    }
    assertThat(parked.get(5, TimeUnit.SECONDS)).isLessThan(10_000);
  }

  @Test
  void itReturnsAtOnceWhenIntakeMayAlreadyResume() {
    open.set(100);
    assertThat(parkFor(Duration.ofSeconds(30)).join()).isLessThan(1_000);
  }

  @Test
  void stillFullItReturnsAfterItsTimeoutSoTheLoopPollsAgain() {
    assertThat(parkFor(Duration.ofMillis(200)).join()).isBetween(150L, 10_000L);
  }

  @Test
  void wakeReturnsWhateverTheOpenCount() throws Exception {
    CompletableFuture<Long> parked = parkFor(Duration.ofSeconds(30));
    Thread.sleep(100);
    signal.wake();
    assertThat(parked.get(5, TimeUnit.SECONDS)).isLessThan(10_000);
  }
}
