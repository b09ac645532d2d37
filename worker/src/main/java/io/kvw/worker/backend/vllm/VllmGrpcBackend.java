package io.kvw.worker.backend.vllm;

import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.kvw.common.InferenceRequest;
import io.kvw.proto.vllm.AbortRequest;
import io.kvw.proto.vllm.GenerateRequest;
import io.kvw.proto.vllm.HealthCheckRequest;
import io.kvw.proto.vllm.VllmEngineGrpc;
import io.kvw.worker.backend.BackendException;
import io.kvw.worker.backend.Generation;
import io.kvw.worker.backend.GenerationCall;
import io.kvw.worker.backend.InferenceBackend;
import io.kvw.worker.backend.tokenizer.ChatTemplate;
import io.kvw.worker.backend.tokenizer.TokenDecoder;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The backend for {@code vllm serve MODEL --grpc}: a few long-lived HTTP/2 channels per target
 * over which every call is multiplexed, server-streaming {@code Generate} with a deadline per
 * call, and outputs decoded with the model's tokenizer.
 *
 * <p>Calls always stream, so the worker sees the first token and can report time to first
 * token; vLLM batches chunk messages per scheduler step, so this costs little.
 */
public final class VllmGrpcBackend implements InferenceBackend {
  private final List<ManagedChannel> channels;
  private final List<VllmEngineGrpc.VllmEngineStub> stubs;
  private final String modelName;
  private final TokenDecoder decoder;
  private final Optional<ChatTemplate> chatTemplate;
  private final AtomicInteger next = new AtomicInteger();

  /**
   * Runs response callbacks for every channel. A fixed pool the size of the machine: gRPC's
   * default cached pool grows a thread per concurrent callback (over a hundred at 256 calls in
   * flight), and the hand-offs between them cost more CPU than the work. The callbacks never
   * block (decode, then hand the outcome to the producer).
   */
  private static final ExecutorService CALLBACKS = Executors.newFixedThreadPool(
      Math.max(2, Runtime.getRuntime().availableProcessors()), r -> {
        Thread t = new Thread(r, "vllm-callbacks");
        t.setDaemon(true);
        return t;
      });

  /**
   * @param channels open channels, several per target; the backend owns and closes them
   * @param modelName the model requests may name
   */
  public VllmGrpcBackend(List<ManagedChannel> channels, String modelName, TokenDecoder decoder,
      Optional<ChatTemplate> chatTemplate) {
    this.channels = List.copyOf(channels);
    this.stubs = channels.stream().map(VllmEngineGrpc::newStub).toList();
    this.modelName = modelName;
    this.decoder = decoder;
    this.chatTemplate = chatTemplate;
  }

  /**
   * A plaintext channel to {@code host:port}, kept alive across idle periods. gRPC's own
   * transparent retries are off: the dispatcher's policies decide what is retried, and the
   * retry buffer would cost memory and CPU on every call.
   */
  public static ManagedChannel channel(String target) {
    return NettyChannelBuilder.forTarget(target).usePlaintext().executor(CALLBACKS)
        .keepAliveTime(30, TimeUnit.SECONDS).keepAliveWithoutCalls(true)
        .disableRetry().maxInboundMessageSize(64 * 1024 * 1024).build();
  }

  @Override
  public CompletableFuture<Generation> generate(GenerationCall call) {
    InferenceRequest request = call.request();
    GenerateRequest.Builder b = GenerateRequest.newBuilder()
        .setRequestId(call.backendRequestId())
        .setSamplingParams(SamplingParamsMapper.toProto(request.params()))
        .setStream(true);
    if (request.prompt() != null) {
      b.setText(request.prompt());
    } else if (chatTemplate.isPresent()) {
      b.setText(chatTemplate.get().render(request.messages()));
    } else {
      return CompletableFuture.failedFuture(new BackendException(
          BackendException.Kind.REJECTED, "NO_CHAT_TEMPLATE", "model " + modelName
              + " has no chat template this worker can render; send a prompt instead", null));
    }
    GenerationObserver observer = new GenerationObserver(request.params().samples(), decoder,
        call.onPartial());
    stub().withDeadlineAfter(Math.max(1, call.timeout().toMillis()), TimeUnit.MILLISECONDS)
        .generate(b.build(), observer);
    return observer.result();
  }

  private VllmEngineGrpc.VllmEngineStub stub() {
    return stubs.get(Math.floorMod(next.getAndIncrement(), stubs.size()));
  }

  @Override
  public CompletableFuture<Boolean> healthy() {
    CompletableFuture<Boolean> out = new CompletableFuture<>();
    stub().withDeadlineAfter(2, TimeUnit.SECONDS).healthCheck(
        HealthCheckRequest.getDefaultInstance(), new UnaryObserver<>(out, r -> r.getHealthy()));
    return out.exceptionally(e -> false);
  }

  @Override
  public CompletableFuture<Void> abort(Collection<String> requestIds) {
    List<CompletableFuture<Boolean>> calls = new ArrayList<>();
    AbortRequest abort = AbortRequest.newBuilder().addAllRequestIds(requestIds).build();
    // the request ran on one of the channels; every target may hold some of them
    for (VllmEngineGrpc.VllmEngineStub s : stubs) {
      CompletableFuture<Boolean> f = new CompletableFuture<>();
      s.withDeadlineAfter(2, TimeUnit.SECONDS).abort(abort, new UnaryObserver<>(f, r -> true));
      calls.add(f.exceptionally(e -> false));
    }
    return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new));
  }

  @Override
  public String modelName() {
    return modelName;
  }

  @Override
  public void close() {
    channels.forEach(ManagedChannel::shutdown);
    for (ManagedChannel c : channels) {
      try {
        if (!c.awaitTermination(2, TimeUnit.SECONDS)) {
          c.shutdownNow();
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        c.shutdownNow();
      }
    }
    decoder.close();
  }

  /** Completes a future from a unary call. */
  private record UnaryObserver<T, R>(CompletableFuture<R> future,
      java.util.function.Function<T, R> map) implements io.grpc.stub.StreamObserver<T> {
    @Override
    public void onNext(T value) {
      future.complete(map.apply(value));
    }

    @Override
    public void onError(Throwable t) {
      future.completeExceptionally(StatusClassifier.toException(t));
    }

    @Override
    public void onCompleted() {
      future.complete(null);
    }
  }
}
