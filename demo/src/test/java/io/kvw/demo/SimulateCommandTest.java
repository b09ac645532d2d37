package io.kvw.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.kvw.proto.vllm.EmbedRequest;
import io.kvw.proto.vllm.GetLoadsRequest;
import io.kvw.proto.vllm.GetModelInfoRequest;
import io.kvw.proto.vllm.TokenizedInput;
import io.kvw.proto.vllm.VllmEngineGrpc;
import io.kvw.testkit.sim.VllmSimulator;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/** {@code demo.jar simulate}: its options reach the simulator it serves over gRPC. */
class SimulateCommandTest {

  private static VllmSimulator simulate(String... args) {
    SimulateCommand cmd = new SimulateCommand();
    new CommandLine(cmd).parseArgs(args);
    return cmd.start();
  }

  @Test
  void theOptionsShapeTheServerAClientSees() {
    try (VllmSimulator sim = simulate("--port", "0", "--model", "tiny", "--max-num-seqs", "7",
        "--max-context", "512", "--tpot-ms", "1")) {
      ManagedChannel ch = ManagedChannelBuilder.forTarget(sim.target()).usePlaintext().build();
      try {
        VllmEngineGrpc.VllmEngineBlockingStub stub = VllmEngineGrpc.newBlockingStub(ch);
        var info = stub.getModelInfo(GetModelInfoRequest.getDefaultInstance());
        assertThat(info.getServedModelName()).isEqualTo("tiny");
        assertThat(info.getMaxContextLength()).isEqualTo(512);
        assertThat(stub.getLoads(GetLoadsRequest.getDefaultInstance()).getLoads(0)
            .getMaxRunningRequests()).isEqualTo(7);
      } finally {
        ch.shutdownNow();
      }
    }
  }

  @Test
  void noLoadsRefusesGetLoadsLikeAServerWithoutIt() {
    try (VllmSimulator sim = simulate("--port", "0", "--no-loads")) {
      ManagedChannel ch = ManagedChannelBuilder.forTarget(sim.target()).usePlaintext().build();
      try {
        assertThatThrownBy(() -> VllmEngineGrpc.newBlockingStub(ch)
            .getLoads(GetLoadsRequest.getDefaultInstance()))
            .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(
                e.getStatus().getCode()).isEqualTo(Status.Code.UNIMPLEMENTED));
      } finally {
        ch.shutdownNow();
      }
    }
  }

  @Test
  void embeddingDimServesAnEmbeddingModel() {
    try (VllmSimulator sim = simulate("--port", "0", "--embedding-dim", "12")) {
      ManagedChannel ch = ManagedChannelBuilder.forTarget(sim.target()).usePlaintext().build();
      try {
        VllmEngineGrpc.VllmEngineBlockingStub stub = VllmEngineGrpc.newBlockingStub(ch);
        assertThat(stub.getModelInfo(GetModelInfoRequest.getDefaultInstance())
            .getIsGeneration()).isFalse();
        var answer = stub.embed(EmbedRequest.newBuilder().setRequestId("e").setTokenized(
            TokenizedInput.newBuilder().addInputIds(3).addInputIds(4)).build());
        assertThat(answer.getEmbeddingDim()).isEqualTo(12);
        assertThat(answer.getPromptTokens()).isEqualTo(2);
        float[] expected = VllmSimulator.expectedEmbedding(new int[] {3, 4}, 12);
        for (int i = 0; i < 12; i++) {
          assertThat(answer.getEmbedding(i)).isEqualTo(expected[i]);
        }
      } finally {
        ch.shutdownNow();
      }
    }
  }

  @Test
  void anUnknownFaultCodeIsAUsageError() {
    int exit = new CommandLine(new SimulateCommand()).setErr(new java.io.PrintWriter(
        java.io.Writer.nullWriter())).execute("--fail-rate", "0.5", "--fail-code", "NOPE");
    assertThat(exit).isEqualTo(2);
  }
}
