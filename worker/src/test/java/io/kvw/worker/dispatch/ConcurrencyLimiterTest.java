package io.kvw.worker.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class ConcurrencyLimiterTest {

  @Test
  void tasksBeyondTheLimitWaitWithoutAThreadAndStartAsPermitsReturn() {
    ConcurrencyLimiter limiter = new ConcurrencyLimiter(2);
    List<String> started = new ArrayList<>();
    for (String name : List.of("a", "b", "c", "d")) {
      limiter.submit(() -> started.add(name));
    }
    assertThat(started).containsExactly("a", "b");
    assertThat(limiter.waiting()).isEqualTo(2);
    limiter.release();
    assertThat(started).containsExactly("a", "b", "c");
    assertThat(limiter.inUse()).isEqualTo(2);
    limiter.release();
    limiter.release();
    limiter.release();
    assertThat(started).containsExactly("a", "b", "c", "d");
    assertThat(limiter.inUse()).isZero();
  }

  @Test
  void raisingTheLimitStartsWaitingTasksAtOnce() {
    ConcurrencyLimiter limiter = new ConcurrencyLimiter(1);
    AtomicInteger started = new AtomicInteger();
    for (int i = 0; i < 5; i++) {
      limiter.submit(started::incrementAndGet);
    }
    assertThat(started).hasValue(1);
    limiter.setLimit(4);
    assertThat(started).hasValue(4);
    assertThat(limiter.inUse()).isEqualTo(4);
  }

  @Test
  void loweringTheLimitHoldsNewTasksUntilInUseFallsBelowIt() {
    ConcurrencyLimiter limiter = new ConcurrencyLimiter(3);
    AtomicInteger started = new AtomicInteger();
    for (int i = 0; i < 6; i++) {
      limiter.submit(started::incrementAndGet);
    }
    limiter.setLimit(1);
    limiter.release(); // 2 in use, limit 1: nothing starts
    limiter.release(); // 1 in use: still nothing
    assertThat(started).hasValue(3);
    limiter.release(); // 0 in use -> hand over to one waiting task
    assertThat(started).hasValue(4);
    assertThat(limiter.inUse()).isEqualTo(1);
  }

  @Test
  void neverMoreThanTheLimitRunUnderContention() throws Exception {
    ConcurrencyLimiter limiter = new ConcurrencyLimiter(8);
    AtomicInteger running = new AtomicInteger();
    AtomicInteger maxRunning = new AtomicInteger();
    int tasks = 5_000;
    CountDownLatch done = new CountDownLatch(tasks);
    ExecutorService pool = Executors.newFixedThreadPool(4);
    for (int i = 0; i < tasks; i++) {
      pool.execute(() -> limiter.submit(() -> {
        maxRunning.accumulateAndGet(running.incrementAndGet(), Math::max);
        // finish asynchronously, as a gRPC callback would
        pool.execute(() -> {
          running.decrementAndGet();
          limiter.release();
          done.countDown();
        });
      }));
    }
    assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
    pool.shutdown();
    assertThat(maxRunning.get()).isLessThanOrEqualTo(8).isGreaterThan(1);
    assertThat(limiter.inUse()).isZero();
    assertThat(limiter.waiting()).isZero();
  }
}
