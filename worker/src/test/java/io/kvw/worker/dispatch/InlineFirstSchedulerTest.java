package io.kvw.worker.dispatch;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Where the dispatcher's attempts run: inline when due now, on the executor otherwise. */
class InlineFirstSchedulerTest {
  private final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor();
  private final InlineFirstScheduler scheduler = new InlineFirstScheduler(executor);

  @AfterEach
  void stop() {
    executor.shutdownNow();
  }

  @Test
  void anAttemptDueNowRunsOnTheCallingThreadAndIsDoneWhenScheduleReturns() throws Exception {
    List<Thread> ran = new CopyOnWriteArrayList<>();
    ScheduledFuture<?> f = scheduler.schedule(() -> ran.add(Thread.currentThread()), 0,
        TimeUnit.NANOSECONDS);
    assertThat(ran).containsExactly(Thread.currentThread());
    assertThat(f.isDone()).isTrue();
    assertThat(f.get()).isEqualTo(true);
  }

  @Test
  void aRetryThatWaitsGoesToTheExecutor() throws Exception {
    CountDownLatch done = new CountDownLatch(1);
    List<Thread> ran = new CopyOnWriteArrayList<>();
    scheduler.schedule(() -> {
      ran.add(Thread.currentThread());
      done.countDown();
      return null;
    }, 5, TimeUnit.MILLISECONDS);
    assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
    assertThat(ran).doesNotContain(Thread.currentThread());
  }

  @Test
  void attemptsNestedPastTheDepthLimitLeaveTheCallingThread() throws Exception {
    int levels = 3 * InlineFirstScheduler.MAX_DEPTH;
    Thread[] threads = new Thread[levels];
    CountDownLatch done = new CountDownLatch(levels);
    nest(0, levels, threads, done);
    assertThat(done.await(5, TimeUnit.SECONDS)).isTrue();
    for (int level = 0; level < levels; level++) {
      // each thread runs at most MAX_DEPTH nested levels before handing the next one over
      boolean onCaller = threads[level] == Thread.currentThread();
      assertThat(onCaller).as("level %d", level)
          .isEqualTo(level < InlineFirstScheduler.MAX_DEPTH);
    }
  }

  private void nest(int level, int levels, Thread[] threads, CountDownLatch done) {
    scheduler.schedule(() -> {
      threads[level] = Thread.currentThread();
      done.countDown();
      if (level + 1 < levels) {
        nest(level + 1, levels, threads, done);
      }
      return null;
    }, 0, TimeUnit.NANOSECONDS);
  }
}
