package io.kvw.worker.dispatch.limit;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The server-load rule against {@link SharedServerSimulation}: the realistic timing
 * (690 ms a request, 256 slots), workers that read the load at different moments and whose
 * cuts take effect only as calls finish. The AIMD-on-queue rule this replaced passed the
 * window-by-window tests in {@link LimitRulesTest} but left one of three workers with 22 % here,
 * as it did live.
 */
class SharedServerTest {
  private static final SharedServerSimulation VLLM = new SharedServerSimulation(256, 690, 1, 100);

  static int[][] starts() {
    return new int[][] {{16, 16}, {16, 16, 16}, {240, 8}, {8, 8, 240}};
  }

  @ParameterizedTest
  @MethodSource("starts")
  void workersSharingAServerKeepItBusyAndConvergeToEqualSharesWithoutOscillating(int[] start) {
    SharedServerSimulation.Run run = VLLM.run(() -> ServerShareLimit.builder().build(), start,
        20_000, 40_000);
    int workers = start.length;
    assertThat(run.ofCapacity()).as("throughput of the server's capacity")
        .isGreaterThanOrEqualTo(0.95);
    for (int w = 0; w < workers; w++) {
      assertThat(run.share(w)).as("worker %d's share of %d", w, workers)
          .isBetween(1.0 / workers * 0.9, 1.0 / workers * 1.1);
      // settled, each limit stays in a narrow band: no slow swapping of shares
      int worker = w;
      int[] settled = IntStream.range(20, run.limitsEverySecond().length)
          .map(s -> run.limitsEverySecond()[s][worker]).toArray();
      int low = Arrays.stream(settled).min().orElseThrow();
      int high = Arrays.stream(settled).max().orElseThrow();
      assertThat(high - low).as("worker %d's limit band, settled: %s", w,
          Arrays.toString(settled)).isLessThanOrEqualTo(256 / workers / 5);
    }
  }

  @Test
  void aLoneWorkerFillsTheServerWithAShortQueue() {
    SharedServerSimulation.Run run = VLLM.run(() -> ServerShareLimit.builder().build(),
        new int[] {16}, 10_000, 30_000);
    assertThat(run.ofCapacity()).isGreaterThanOrEqualTo(0.97);
    int settled = run.limitsEverySecond()[run.limitsEverySecond().length - 1][0];
    // every slot, plus a queue of about 5 % to refill them
    assertThat(settled).isBetween(256, (int) (256 * 1.1));
  }

  @Test
  void aLoneWorkerWhoseCallsTakeTimeToArriveStillFillsEverySlot() {
    // issue 13's setup: 200 ms a request, 256 slots (1,280/s), and 10 ms each way between
    // worker and server, so about 25 of the worker's calls are always in transit; counting
    // only what the server holds left those slots idle (the limit sat at slots + queue, 91 %)
    SharedServerSimulation slowLink = new SharedServerSimulation(256, 200, 10, 100);
    SharedServerSimulation.Run run = slowLink.run(() -> ServerShareLimit.builder().build(),
        new int[] {16}, 5_000, 20_000);
    assertThat(run.ofCapacity()).isGreaterThanOrEqualTo(0.98);
    int settled = run.limitsEverySecond()[run.limitsEverySecond().length - 1][0];
    // every slot, the calls in transit (1,280/s × 20 ms), and a short queue
    assertThat(settled).isBetween(256 + 20, 256 + 26 + 40);
  }

  @ParameterizedTest
  @MethodSource("starts")
  void workersWhoseCallsTakeTimeToArriveKeepEvenShares(int[] start) {
    SharedServerSimulation slowLink = new SharedServerSimulation(256, 200, 10, 100);
    SharedServerSimulation.Run run = slowLink.run(() -> ServerShareLimit.builder().build(),
        start, 10_000, 30_000);
    assertThat(run.ofCapacity()).isGreaterThanOrEqualTo(0.97);
    for (int w = 0; w < start.length; w++) {
      assertThat(run.share(w)).as("worker %d's share of %d", w, start.length)
          .isBetween(1.0 / start.length - 0.05, 1.0 / start.length + 0.05);
    }
  }

  @Test
  void workersJoiningOneAfterAnotherEndUpEqual() {
    // the second joins 5 s after the first, the third 5 s after that; the last to join never
    // saw the server idle, which is what breaks rules that judge by their own history
    SharedServerSimulation.Run run = VLLM.run(() -> ServerShareLimit.builder().build(),
        new int[] {16, 16, 16}, new long[] {0, 5_000, 10_000}, 30_000, 60_000);
    assertThat(run.ofCapacity()).isGreaterThanOrEqualTo(0.95);
    for (int w = 0; w < 3; w++) {
      assertThat(run.share(w)).as("worker %d's share", w).isBetween(0.3, 0.367);
    }
  }

  @Test
  void aWorkerJoiningABusyServerGetsItsShare() {
    // one worker has filled the server alone; the second starts at 16
    SharedServerSimulation.Run run = VLLM.run(() -> ServerShareLimit.builder().build(),
        new int[] {270, 16}, 15_000, 30_000);
    assertThat(run.share(1)).isBetween(0.45, 0.55);
    assertThat(run.ofCapacity()).isGreaterThanOrEqualTo(0.95);
  }

  @Test
  void aServerShortOfKvCacheIsNotQueuedUpToItsSequenceCap() {
    // max_num_seqs is 256, but only 150 fit in the KV cache: the rest wait
    SharedServerSimulation kvBound = new SharedServerSimulation(150, 256, 690, 1, 100);
    SharedServerSimulation.Run run = kvBound.run(() -> ServerShareLimit.builder().build(),
        new int[] {16, 16}, 15_000, 30_000);
    assertThat(run.ofCapacity()).isGreaterThanOrEqualTo(0.95);
    int[] last = run.limitsEverySecond()[run.limitsEverySecond().length - 1];
    assertThat(last[0] + last[1]).isLessThanOrEqualTo((int) (150 * 1.15));
  }

  @Test
  void withoutLoadReportsTheLatencyRuleStillFillsTheServerWithABoundedQueue() {
    SharedServerSimulation noLoads = new SharedServerSimulation(256, 690, 1, 100)
        .withoutLoadReports();
    SharedServerSimulation.Run run = noLoads.run(LatencyLimit::defaults, new int[] {16},
        10_000, 30_000);
    assertThat(run.ofCapacity()).isGreaterThanOrEqualTo(0.97);
    int[] settled = IntStream.range(10, run.limitsEverySecond().length)
        .map(s -> run.limitsEverySecond()[s][0]).toArray();
    // latency may grow by half before a cut, so the limit swings above the server's slots
    // (260 to 400 here), but it never leaves them idle and its queue stays bounded
    assertThat(Arrays.stream(settled).min().orElseThrow()).isGreaterThanOrEqualTo(256);
    assertThat(Arrays.stream(settled).average().orElseThrow()).isLessThanOrEqualTo(256 * 1.4);
  }

  @Test
  void withoutLoadReportsWorkersJoiningOneAfterAnotherStillKeepTheServerBusy() {
    // Shares are not asserted, because they are not fair: each worker judges latency against
    // the lowest it has seen itself, and the last to join never saw the server idle, so it
    // tolerates the queue the others back away from and takes nearly all (99 % here). Fair
    // shares need the server's own counts (GetLoads); BENCHMARKS.md shows both.
    SharedServerSimulation noLoads = new SharedServerSimulation(256, 690, 1, 100)
        .withoutLoadReports();
    SharedServerSimulation.Run run = noLoads.run(LatencyLimit::defaults,
        new int[] {16, 16, 16}, new long[] {0, 5_000, 10_000}, 30_000, 60_000);
    assertThat(run.ofCapacity()).isGreaterThanOrEqualTo(0.95);
  }

  @ParameterizedTest
  @MethodSource("starts")
  void withoutLoadReportsSharingWorkersKeepTheServerBusyAndNoneStarves(int[] start) {
    // each worker judges latency against the floor it has seen itself, so shares are not
    // equal as with the server's counts (62/20/18 % from an unequal start of three); the
    // server stays busy and every worker gets at least half a fair share
    SharedServerSimulation noLoads = new SharedServerSimulation(256, 690, 1, 100)
        .withoutLoadReports();
    SharedServerSimulation.Run run = noLoads.run(LatencyLimit::defaults, start, 20_000, 40_000);
    assertThat(run.ofCapacity()).isGreaterThanOrEqualTo(0.95);
    for (int w = 0; w < start.length; w++) {
      assertThat(run.share(w)).as("worker %d's share of %d", w, start.length)
          .isGreaterThanOrEqualTo(0.5 / start.length);
    }
  }
}
