package io.kvw.worker.dispatch.limit;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvw.worker.backend.BackendLoad;
import java.util.Arrays;
import java.util.function.Supplier;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * The limit rules against a simulated vLLM, window by window (no clock, no threads): the server
 * runs at most {@code maxNumSeqs} sequences and queues the rest; every worker always has work
 * (a backlog), so each keeps its limit's worth of calls in flight.
 */
class LimitRulesTest {

  /** Runs {@code workers} workers, each with its own rule, for {@code windows} windows. */
  private static int[][] simulate(int workers, int maxNumSeqs, int windows,
      Supplier<LimitRule> rules, boolean serverReportsLoad, int startLimit) {
    LimitRule[] rule = new LimitRule[workers];
    int[] limit = new int[workers];
    for (int w = 0; w < workers; w++) {
      rule[w] = rules.get();
      limit[w] = startLimit;
    }
    int[][] history = new int[windows][];
    for (int t = 0; t < windows; t++) {
      int demand = Arrays.stream(limit).sum();
      int running = Math.min(demand, maxNumSeqs);
      int waiting = demand - running;
      // latency: one service time, plus the queue's wait in service-time units
      double latency = 100.0 * (1 + (double) waiting / maxNumSeqs);
      BackendLoad load = serverReportsLoad ? new BackendLoad(running, waiting, maxNumSeqs)
          : null;
      for (int w = 0; w < workers; w++) {
        Observation o = new Observation(limit[w], 50, load, 10, latency, 0);
        limit[w] = Math.max(1, Math.min(4096, rule[w].next(limit[w], o)));
      }
      history[t] = limit.clone();
    }
    return history;
  }

  private static double meanTotal(int[][] history, int fromWindow) {
    return IntStream.range(fromWindow, history.length)
        .mapToDouble(t -> Arrays.stream(history[t]).sum()).average().orElseThrow();
  }

  private static double meanOf(int[][] history, int worker, int fromWindow) {
    return IntStream.range(fromWindow, history.length).mapToDouble(t -> history[t][worker])
        .average().orElseThrow();
  }

  @Test
  void aLoneWorkerConvergesNearMaxNumSeqs() {
    int[][] h = simulate(1, 256, 400, () -> ServerShareLimit.builder().build(), true, 16);
    double settled = meanTotal(h, 200);
    // enough to keep every slot busy, never a long queue beyond it
    assertThat(settled).isBetween(256.0 * 0.95, 256.0 * 1.15);
    assertThat(IntStream.range(200, 400).map(t -> h[t][0]).min().orElseThrow())
        .isGreaterThanOrEqualTo((int) (256 * 0.85));
  }

  @Test
  void itBacksOffWhenTheServerQueueGrows() {
    int[][] h = simulate(1, 64, 60, () -> ServerShareLimit.builder().build(), true, 1000);
    assertThat(h[0][0]).isLessThan(1000);
    assertThat(h[59][0]).isLessThan(100);
  }

  @Test
  void workersSharingAServerConvergeToFairSharesWithoutStarvingIt() {
    for (int workers : new int[] {2, 3}) {
      // start unfair on purpose: they must even out
      int[][] h = simulate(workers, 256, 2000, () -> ServerShareLimit.builder().build(), true,
          16);
      double total = meanTotal(h, 1000);
      assertThat(total).as("%d workers keep the server busy", workers)
          .isGreaterThanOrEqualTo(256 * 0.95);
      for (int w = 0; w < workers; w++) {
        assertThat(meanOf(h, w, 1000) / total).as("worker %d of %d", w, workers)
            .isBetween(1.0 / workers * 0.8, 1.0 / workers * 1.2);
      }
    }
  }

  @Test
  void sharesEvenOutFromAnUnfairStart() {
    LimitRule a = ServerShareLimit.builder().build();
    LimitRule b = ServerShareLimit.builder().build();
    int la = 240;
    int lb = 8;
    for (int t = 0; t < 3000; t++) {
      int running = Math.min(la + lb, 256);
      BackendLoad load = new BackendLoad(running, la + lb - running, 256);
      la = a.next(la, new Observation(la, 50, load, 10, 100, 0));
      lb = b.next(lb, new Observation(lb, 50, load, 10, 100, 0));
    }
    assertThat((double) la / (la + lb)).isBetween(0.4, 0.6);
  }

  @Test
  void workersReadingTheQueueAtDifferentMomentsStillEvenOut() {
    // each worker looks at the queue at its own moment within the window and acts on it at
    // once: the queue the second one sees already reflects the first one's move
    LimitRule first = ServerShareLimit.builder().build();
    LimitRule second = ServerShareLimit.builder().build();
    int[] limit = {166, 96};
    long[] sum = new long[2];
    for (int t = 0; t < 600; t++) {
      for (int w = 0; w < 2; w++) {
        int total = limit[0] + limit[1];
        BackendLoad load = new BackendLoad(Math.min(total, 256), Math.max(0, total - 256), 256);
        limit[w] = (w == 0 ? first : second).next(limit[w],
            new Observation(limit[w], 50, load, 10, 100, 0));
        if (t >= 100) {
          sum[w] += limit[w];
        }
      }
    }
    double share = (double) sum[0] / (sum[0] + sum[1]);
    assertThat(share).isBetween(0.4, 0.6);
    assertThat((sum[0] + sum[1]) / 500.0).isGreaterThanOrEqualTo(256 * 0.95);
  }

  @Test
  void aWorkerWithoutABacklogDoesNotGrowItsLimit() {
    LimitRule rule = ServerShareLimit.builder().build();
    int limit = 32;
    for (int t = 0; t < 100; t++) {
      // 5 calls in flight, none queued: the limit is not what holds it back
      limit = rule.next(limit, new Observation(5, 0, new BackendLoad(5, 0, 256), 10, 100, 0));
    }
    assertThat(limit).isEqualTo(32);
  }

  @Test
  void aWorkerWhoseCallsSpendLongOnTheWayStillGetsThePermitsTheServerHasRoomFor() {
    // a cold worker at 640 requests/s on a 200 ms server: its calls take 600 ms end to end
    // (400 ms of it in the worker and on the wire), so it needs 384 in flight while the
    // server holds only a third of them and has half its 256 slots idle
    LimitRule rule = ServerShareLimit.builder().build();
    int needed = 384;
    int limit = 256;
    for (int t = 0; t < 50; t++) {
      int inFlight = Math.min(limit, needed);
      int onServer = inFlight / 3;
      limit = Math.min(1024, rule.next(limit, new Observation(inFlight,
          Math.max(0, needed - limit), new BackendLoad(onServer, 0, 256), 10, 600, 0)));
    }
    assertThat(limit).isGreaterThanOrEqualTo(needed);
    // and once it has what it needs, it stops growing: not limited, nothing to add
    assertThat(rule.next(limit, new Observation(needed, 0, new BackendLoad(needed / 3, 0, 256),
        10, 600, 0))).isEqualTo(limit);
  }

  @Test
  void overloadErrorsCutTheLimit() {
    assertThat(ServerShareLimit.builder().build().next(100, new Observation(100, 10,
        new BackendLoad(10, 0, 256), 10, 100, 3))).isEqualTo(90);
    assertThat(LatencyLimit.defaults().next(100, new Observation(100, 10, null, 10, 100, 1)))
        .isEqualTo(80);
  }

  @Test
  void withoutServerLoadTheLatencyRuleStillFindsTheKnee() {
    int[][] h = simulate(1, 256, 600, LatencyLimit::defaults, false, 16);
    double settled = meanTotal(h, 300);
    // latency doubles only when the queue is as long as the running batch: the rule keeps
    // the server busy and the queue bounded
    assertThat(settled).isBetween(256.0, 256.0 * 2.1);
  }
}
