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
  void theWarmupRunsRecordsThroughTheWorkerWithoutSendingVllmAnyGeneration() {
    try (VllmSimulator sim = VllmSimulator.builder().build().start();
        InferenceBackend backend = connect(sim)) {
      int rounds = StartupWarmup.run(Duration.ofMillis(300),
          new RequestCodec(RequestLimits.defaults()), new ResultCodec(), backend);
      assertThat(rounds).isPositive();
      assertThat(sim.stats().received()).as("Generate calls").isZero();
      assertThat(StartupWarmup.run(Duration.ZERO, new RequestCodec(RequestLimits.defaults()),
          new ResultCodec(), backend)).isZero();
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
