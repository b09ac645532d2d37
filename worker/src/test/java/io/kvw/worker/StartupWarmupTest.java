package io.kvw.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvw.common.RequestCodec;
import io.kvw.common.RequestLimits;
import io.kvw.common.ResultCodec;
import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.backend.InferenceBackend;
import io.kvw.worker.backend.VllmBackendFactory;
import io.kvw.worker.config.WorkerConfig;
import io.kvw.worker.dispatch.limit.AdaptiveConcurrency;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Start-up work done before intake opens, against the simulator over loopback. */
class StartupWarmupTest {

  private static InferenceBackend connect(VllmSimulator sim) {
    return new VllmBackendFactory().connect(WorkerConfig.of(Map.of("vllm.target",
        sim.target())), Duration.ofSeconds(10));
  }

  @Test
  void theWarmupRunsRecordsThroughTheWorkerAndAFewOneTokenGenerateCalls() {
    try (VllmSimulator sim = VllmSimulator.builder().timeToFirstToken(Duration.ofMillis(20))
        .build().start();
        InferenceBackend backend = connect(sim)) {
      StartupWarmup.Ran ran = StartupWarmup.run(Duration.ofSeconds(2),
          new RequestCodec(RequestLimits.defaults()), new ResultCodec(), backend, 100);
      assertThat(ran.rounds()).isPositive();
      assertThat(ran.calls()).as("Generate calls answered").isPositive().isLessThanOrEqualTo(100);
      assertThat(sim.stats().received()).as("Generate calls the server saw")
          .isEqualTo(ran.calls());
      assertThat(sim.stats().completionTokens()).as("one token each").isEqualTo(ran.calls());
      assertThat(sim.stats().running()).as("none left running after it").isZero();
    }
  }

  @Test
  void withNoCallsOrNoTimeTheWarmupSendsVllmNothing() {
    try (VllmSimulator sim = VllmSimulator.builder().build().start();
        InferenceBackend backend = connect(sim)) {
      StartupWarmup.Ran ran = StartupWarmup.run(Duration.ofMillis(200),
          new RequestCodec(RequestLimits.defaults()), new ResultCodec(), backend, 0);
      assertThat(ran.rounds()).isPositive();
      assertThat(StartupWarmup.run(Duration.ZERO, new RequestCodec(RequestLimits.defaults()),
          new ResultCodec(), backend, 100)).isEqualTo(new StartupWarmup.Ran(0, 0));
      assertThat(sim.stats().received()).as("Generate calls").isZero();
    }
  }

  @Test
  void anAdaptiveWorkerOpensWithTheServersFreeSlotsNotARamp() {
    try (VllmSimulator sim = VllmSimulator.builder().maxNumSeqs(200).build().start();
        InferenceBackend backend = connect(sim)) {
      assertThat(AdaptiveConcurrency.startingLimit(backend, 1024)).isEqualTo(200);
      assertThat(AdaptiveConcurrency.startingLimit(backend, 64)).isEqualTo(64);
    }
    try (VllmSimulator noLoads = VllmSimulator.builder().maxNumSeqs(200).loadReports(false)
        .build().start();
        InferenceBackend backend = connect(noLoads)) {
      // without the server's counts the latency rule grows the limit from a low start
      assertThat(AdaptiveConcurrency.startingLimit(backend, 1024)).isEqualTo(16);
    }
  }
}
