package io.kvw.worker.backend.vllm;

import io.grpc.Context;
import io.grpc.Deadline;
import io.grpc.Server;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.kvw.proto.vllm.AbortRequest;
import io.kvw.proto.vllm.AbortResponse;
import io.kvw.proto.vllm.GenerateRequest;
import io.kvw.proto.vllm.GenerateResponse;
import io.kvw.proto.vllm.HealthCheckRequest;
import io.kvw.proto.vllm.HealthCheckResponse;
import io.kvw.proto.vllm.VllmEngineGrpc;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;

/**
 * An in-process {@code VllmEngine} whose answers each test scripts: it records what the worker
 * sent (request, deadline) and whether the worker cancelled, and lets the test decide every
 * message that comes back.
 */
final class FakeVllm implements AutoCloseable {
  private static final java.util.concurrent.atomic.AtomicInteger names =
      new java.util.concurrent.atomic.AtomicInteger();

  final List<GenerateRequest> requests = new CopyOnWriteArrayList<>();
  final List<Deadline> deadlines = new CopyOnWriteArrayList<>();
  final List<AbortRequest> aborts = new CopyOnWriteArrayList<>();
  final CountDownLatch cancelled = new CountDownLatch(1);
  volatile BiConsumer<GenerateRequest, StreamObserver<GenerateResponse>> generate =
      (r, o) -> o.onCompleted();
  volatile Object health = Boolean.TRUE; // a Boolean, or a RuntimeException to fail with

  private final String name = "fake-vllm-" + names.incrementAndGet();
  private final Server server;

  FakeVllm() throws IOException {
    server = InProcessServerBuilder.forName(name).directExecutor()
        .addService(new VllmEngineGrpc.VllmEngineImplBase() {
          @Override
          public void generate(GenerateRequest request,
              StreamObserver<GenerateResponse> out) {
            requests.add(request);
            deadlines.add(Context.current().getDeadline());
            ((ServerCallStreamObserver<GenerateResponse>) out)
                .setOnCancelHandler(cancelled::countDown);
            // a deadline reaches the in-process server as its context ending, not as onCancel
            Context.current().addListener(c -> cancelled.countDown(), Runnable::run);
            generate.accept(request, out);
          }

          @Override
          public void healthCheck(HealthCheckRequest request,
              StreamObserver<HealthCheckResponse> out) {
            if (health instanceof RuntimeException e) {
              out.onError(e);
              return;
            }
            out.onNext(HealthCheckResponse.newBuilder().setHealthy((Boolean) health).build());
            out.onCompleted();
          }

          @Override
          public void abort(AbortRequest request, StreamObserver<AbortResponse> out) {
            aborts.add(request);
            out.onNext(AbortResponse.getDefaultInstance());
            out.onCompleted();
          }
        }).build().start();
  }

  /** Channels to this server, as the backend takes them. */
  Map<String, List<io.grpc.ManagedChannel>> channels(int count) {
    List<io.grpc.ManagedChannel> list = new java.util.ArrayList<>();
    for (int i = 0; i < count; i++) {
      list.add(InProcessChannelBuilder.forName(name).directExecutor().build());
    }
    return Map.of(name, list);
  }

  boolean awaitCancelled() throws InterruptedException {
    return cancelled.await(5, TimeUnit.SECONDS);
  }

  @Override
  public void close() throws InterruptedException {
    server.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
  }
}
