package io.kvw.worker.backend.vllm;

import io.grpc.Server;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.stub.StreamObserver;
import io.kvw.proto.vllm.GenerateComplete;
import io.kvw.proto.vllm.GenerateRequest;
import io.kvw.proto.vllm.GenerateResponse;
import io.kvw.proto.vllm.GenerateStreamChunk;
import io.kvw.proto.vllm.GetLoadsRequest;
import io.kvw.proto.vllm.GetLoadsResponse;
import io.kvw.proto.vllm.SchedulerLoad;
import io.kvw.proto.vllm.VllmEngineGrpc;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;

/**
 * A vLLM engine inside the worker, on loopback, for the start-up warm-up: it answers every
 * {@code Generate} at once with one token, as the servicer does (with {@code stream=true} a
 * chunk, then the complete message that repeats its delta; without, the complete message
 * alone), and {@code GetLoads} with an idle scheduler. Calling it through the worker's own
 * client code compiles that code (call start, HTTP/2 and protobuf both ways, the response
 * observer and its callback threads) thousands of times a second, which a real server's
 * latency, and the slots other clients need, would not allow.
 */
final class LoopbackVllmServer extends VllmEngineGrpc.VllmEngineImplBase
    implements AutoCloseable {
  private final Server server;

  private LoopbackVllmServer() throws IOException {
    // its handlers only build two small messages: they run on the transport's threads
    this.server = NettyServerBuilder.forAddress(new InetSocketAddress(
            InetAddress.getLoopbackAddress(), 0))
        .directExecutor().addService(this).build().start();
  }

  static LoopbackVllmServer start() throws IOException {
    return new LoopbackVllmServer();
  }

  /** Its {@code host:port}, for a channel. */
  String target() {
    return InetAddress.getLoopbackAddress().getHostAddress() + ":" + server.getPort();
  }

  @Override
  public void generate(GenerateRequest request, StreamObserver<GenerateResponse> answer) {
    int prompt = request.getTokenized().getInputIdsCount();
    // a token of the prompt's own: the worker's tokenizer decodes it
    int token = prompt > 0 ? request.getTokenized().getInputIds(0) : 0;
    if (request.getStream()) {
      answer.onNext(GenerateResponse.newBuilder().setChunk(GenerateStreamChunk.newBuilder()
          .addTokenIds(token).setPromptTokens(prompt).setCompletionTokens(1)).build());
    }
    answer.onNext(GenerateResponse.newBuilder().setComplete(GenerateComplete.newBuilder()
        .addOutputIds(token).setFinishReason("length").setPromptTokens(prompt)
        .setCompletionTokens(1)).build());
    answer.onCompleted();
  }

  @Override
  public void getLoads(GetLoadsRequest request, StreamObserver<GetLoadsResponse> answer) {
    answer.onNext(GetLoadsResponse.newBuilder().setDpRankCount(1)
        .addLoads(SchedulerLoad.newBuilder().setMaxRunningRequests(256)).build());
    answer.onCompleted();
  }

  @Override
  public void close() {
    server.shutdownNow();
    try {
      server.awaitTermination(1, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
