package io.kvw.worker.backend.vllm;

import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.kvw.common.InferenceRequest;
import io.kvw.common.SamplingParams;
import io.kvw.proto.vllm.TokenizedInput;
import io.kvw.worker.backend.Prompt;
import io.kvw.worker.backend.PromptPreparer;
import io.kvw.worker.backend.tokenizer.PromptEncoder;
import io.kvw.proto.vllm.AbortRequest;
import io.kvw.proto.vllm.EmbedRequest;
import io.kvw.common.Embedding;
import io.kvw.worker.backend.EmbeddingCall;
import io.kvw.worker.backend.Embeddings;
import io.kvw.proto.vllm.GenerateRequest;
import io.kvw.proto.vllm.GetLoadsRequest;
import io.kvw.proto.vllm.GetLoadsResponse;
import io.kvw.proto.vllm.SchedulerLoad;
import io.kvw.worker.backend.BackendLoad;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The backend for {@code vllm serve MODEL --grpc}: a few long-lived HTTP/2 channels per target
 * over which every call is multiplexed, server-streaming {@code Generate} with a deadline per
 * call, and outputs decoded with the model's tokenizer.
 *
 * <p>Calls always stream ({@code stream=true}): the first chunk marks the first token, which
 * gives every result its {@code ttft_ms} (part of the result contract) and streaming requests
 * their partial outputs. The price is one small message per scheduler step per running
 * request instead of one per request; the worker handles them without copies or per-token
 * decoding (ids are decoded once, at the end, unless partials were asked for).
 */
public final class VllmGrpcBackend implements InferenceBackend {
  private static final Logger LOG = LoggerFactory.getLogger(VllmGrpcBackend.class);
  private final TargetPool targets;
  private final String modelName;
  private final TokenDecoder decoder;
  private final PromptEncoder prompts;
  private final SamplingDefaults samplingDefaults;
  private final AtomicInteger nextProbe = new AtomicInteger();
  /** Set once a target answers GetLoads with UNIMPLEMENTED: then the limit follows latency. */
  private volatile boolean loadsUnimplemented;

  /** Refused calls in a row that open a target's circuit, and how long it stays open. */
  static final int BREAKER_FAILURES = 5;
  static final java.time.Duration BREAKER_OPEN_FOR = java.time.Duration.ofSeconds(2);

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
   * @param channelsByTarget open channels per {@code host:port}; the backend owns and closes
   *     them
   * @param modelName the model requests may name
   */
  public VllmGrpcBackend(java.util.Map<String, List<ManagedChannel>> channelsByTarget,
      String modelName, TokenDecoder decoder, Optional<ChatTemplate> chatTemplate) {
    this(pool(channelsByTarget, address -> {
      throw new IllegalStateException("a fixed set of targets gets no new ones");
    }), modelName, decoder, new PromptEncoder(decoder, chatTemplate, 0), SamplingDefaults.NONE);
  }

  /**
   * @param targets the replicas, possibly changing at run time; the backend closes them
   * @param modelName the model requests may name
   * @param prompts renders and tokenizes prompts for this model
   * @param samplingDefaults filled into every request that leaves them unset
   */
  public VllmGrpcBackend(TargetPool targets, String modelName, TokenDecoder decoder,
      PromptEncoder prompts, SamplingDefaults samplingDefaults) {
    this.targets = targets;
    this.modelName = modelName;
    this.decoder = decoder;
    this.prompts = prompts;
    this.samplingDefaults = samplingDefaults;
  }

  /** A pool of targets with this backend's circuit breaker settings. */
  public static TargetPool pool(java.util.Map<String, List<ManagedChannel>> initial,
      java.util.function.Function<String, List<ManagedChannel>> channelsFor) {
    return new TargetPool(initial, channelsFor, BREAKER_FAILURES, BREAKER_OPEN_FOR);
  }

  /**
   * A channel to {@code host:port}, kept alive across idle periods. gRPC's own transparent
   * retries are off: the dispatcher's policies decide what is retried, and the retry buffer
   * would cost memory and CPU on every call.
   */
  public static ManagedChannel channel(String target, ChannelSecurity security) {
    NettyChannelBuilder b = NettyChannelBuilder.forTarget(target).executor(CALLBACKS)
        .keepAliveTime(30, TimeUnit.SECONDS).keepAliveWithoutCalls(true)
        .disableRetry().maxInboundMessageSize(64 * 1024 * 1024);
    security.apply(b);
    return b.build();
  }

  @Override
  public PromptPreparer prompts() {
    return prompts;
  }

  /**
   * Sends the prepared prompt as {@code tokenized} input (ids plus the text for reference), as
   * the smg router does: the server then uses exactly the tokens admission counted. A call
   * without a prepared prompt (a direct caller) is prepared here the same way.
   */
  @Override
  public CompletableFuture<Generation> generate(GenerationCall call) {
    InferenceRequest request = call.request();
    SamplingParams params = samplingDefaults.applyTo(request.params());
    GenerateRequest.Builder b = GenerateRequest.newBuilder()
        .setRequestId(call.backendRequestId())
        .setStream(true);
    try {
      // a prompt prepared elsewhere without ids (a wrapping backend's text-only preparer) is
      // prepared again here: vLLM gets tokens counted by this model's tokenizer either way
      Prompt prompt = call.prompt() != null && call.prompt().ids() != null ? call.prompt()
          : prompts.prepare(request);
      b.setSamplingParams(SamplingParamsMapper.toProto(params));
      TokenizedInput.Builder input = TokenizedInput.newBuilder().setOriginalText(prompt.text());
      for (int id : prompt.ids()) {
        input.addInputIds(id);
      }
      b.setTokenized(input);
    } catch (PromptPreparer.InvalidPromptException e) {
      return CompletableFuture.failedFuture(new BackendException(
          BackendException.Kind.REJECTED, "INVALID_PROMPT", e.getMessage(), null));
    } catch (RuntimeException e) {
      // never throw at the caller: every outcome goes through the future
      return CompletableFuture.failedFuture(new BackendException(
          BackendException.Kind.REJECTED, "BAD_REQUEST", "cannot express the request for "
              + "vLLM: " + e, e));
    }
    TargetPool.Target target = targets.acquire();
    if (target == null) {
      return CompletableFuture.failedFuture(new BackendException(
          BackendException.Kind.UNAVAILABLE, "CIRCUIT_OPEN", "every vLLM target's circuit is "
              + "open", null));
    }
    GenerationObserver observer = new GenerationObserver(params, decoder, call.onPartial());
    target.stub().withDeadlineAfter(Math.max(1, call.timeout().toMillis()),
        TimeUnit.MILLISECONDS).generate(b.build(), observer);
    CompletableFuture<Generation> result = observer.result();
    result.whenComplete((g, e) -> {
      if (e instanceof BackendException be && be.kind() == BackendException.Kind.UNAVAILABLE) {
        target.breaker.recordFailure();
      } else {
        target.breaker.recordSuccess();
      }
    });
    return result; // the caller's cancel must reach the observer, so not a derived future
  }

  /**
   * Sends one {@code Embed} call per input (the RPC takes one tokenized sequence), all in
   * flight together, each to the next target with a closed circuit, and answers with the
   * embeddings in input order once every call has. The first failure fails the whole attempt
   * and cancels the calls still running: the dispatcher retries a request as a whole.
   */
  @Override
  public CompletableFuture<Embeddings> embed(EmbeddingCall call) {
    List<Prompt> inputs;
    try {
      Prompt prompt = call.prompt() != null && call.prompt().inputs() != null ? call.prompt()
          : prompts.prepare(call.request());
      inputs = prompt.inputs();
    } catch (PromptPreparer.InvalidPromptException e) {
      return CompletableFuture.failedFuture(new BackendException(
          BackendException.Kind.REJECTED, "INVALID_PROMPT", e.getMessage(), null));
    }
    Integer dimensions = call.request().embedding().dimensions();
    long start = System.nanoTime();
    Embedding[] done = new Embedding[inputs.size()];
    AtomicInteger left = new AtomicInteger(inputs.size());
    CompletableFuture<Embeddings> all = new CompletableFuture<>();
    List<CompletableFuture<Embedding>> calls =
        new java.util.concurrent.CopyOnWriteArrayList<>();
    // when one call fails, or the caller cancels, the others are no longer wanted
    all.whenComplete((r, e) -> {
      if (e != null) {
        calls.forEach(c -> c.cancel(true));
      }
    });
    for (int i = 0; i < inputs.size() && !all.isDone(); i++) {
      TargetPool.Target target = targets.acquire();
      if (target == null) {
        all.completeExceptionally(new BackendException(BackendException.Kind.UNAVAILABLE,
            "CIRCUIT_OPEN", "every vLLM target's circuit is open", null));
        break;
      }
      Prompt input = inputs.get(i);
      TokenizedInput.Builder tokens = TokenizedInput.newBuilder()
          .setOriginalText(input.text());
      for (int id : input.ids()) {
        tokens.addInputIds(id);
      }
      EmbedObserver observer = new EmbedObserver(i, inputs.size(), dimensions);
      CompletableFuture<Embedding> one = observer.result();
      calls.add(one);
      one.whenComplete((e, failure) -> {
        if (failure instanceof BackendException be
            && be.kind() == BackendException.Kind.UNAVAILABLE) {
          target.breaker.recordFailure();
        } else {
          target.breaker.recordSuccess();
        }
        if (failure != null) {
          all.completeExceptionally(failure);
        } else {
          done[e.index()] = e;
          if (left.decrementAndGet() == 0) {
            all.complete(new Embeddings(List.of(done),
                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start)));
          }
        }
      });
      target.stub().withDeadlineAfter(Math.max(1, call.timeout().toMillis()),
          TimeUnit.MILLISECONDS).embed(EmbedRequest.newBuilder()
              .setRequestId(call.backendRequestId() + "-" + i).setTokenized(tokens).build(),
          observer);
    }
    if (all.isCompletedExceptionally()) {
      calls.forEach(c -> c.cancel(true)); // calls started while the failure was handled
    }
    return all;
  }

  /** Round-robin over every target, open circuit or not: probes must reach dead ones too. */
  private VllmEngineGrpc.VllmEngineStub anyStub() {
    List<TargetPool.Target> all = targets.all();
    return all.get(Math.floorMod(nextProbe.getAndIncrement(), all.size())).stub();
  }

  @Override
  public CompletableFuture<Boolean> healthy() {
    CompletableFuture<Boolean> out = new CompletableFuture<>();
    anyStub().withDeadlineAfter(2, TimeUnit.SECONDS).healthCheck(
        HealthCheckRequest.getDefaultInstance(), new UnaryObserver<>(out, r -> r.getHealthy()));
    return out.exceptionally(e -> false);
  }

  @Override
  public CompletableFuture<Void> abort(Collection<String> requestIds) {
    List<CompletableFuture<Boolean>> calls = new ArrayList<>();
    AbortRequest abort = AbortRequest.newBuilder().addAllRequestIds(requestIds).build();
    // the requests ran on some of the targets; each target ignores ids it does not know
    for (TargetPool.Target t : targets.all()) {
      CompletableFuture<Boolean> f = new CompletableFuture<>();
      t.stub().withDeadlineAfter(2, TimeUnit.SECONDS).abort(abort,
          new UnaryObserver<>(f, r -> true));
      calls.add(f.exceptionally(e -> false));
    }
    return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new));
  }

  @Override
  public CompletableFuture<Optional<BackendLoad>> load() {
    if (loadsUnimplemented) {
      return CompletableFuture.completedFuture(Optional.empty());
    }
    List<CompletableFuture<GetLoadsResponse>> calls = new ArrayList<>();
    for (TargetPool.Target t : targets.all()) {
      CompletableFuture<GetLoadsResponse> f = new CompletableFuture<>();
      t.stub().withDeadlineAfter(1, TimeUnit.SECONDS).getLoads(
          GetLoadsRequest.getDefaultInstance(), new UnaryObserver<>(f, r -> r));
      calls.add(f);
    }
    return CompletableFuture.allOf(calls.toArray(CompletableFuture[]::new)).thenApply(v -> {
      int running = 0;
      int waiting = 0;
      int max = 0;
      for (CompletableFuture<GetLoadsResponse> f : calls) {
        for (SchedulerLoad l : f.join().getLoadsList()) {
          running += l.getNumRunningReqs();
          waiting += l.getNumWaitingReqs();
          max += l.getMaxRunningRequests();
        }
      }
      return Optional.of(new BackendLoad(running, waiting, max));
    }).exceptionally(e -> {
      if (Status.fromThrowable(e).getCode() == Status.Code.UNIMPLEMENTED && !loadsUnimplemented) {
        loadsUnimplemented = true; // asked every 100 ms otherwise, for an answer that won't come
        LOG.info("vLLM does not offer GetLoads: the adaptive limit follows latency instead");
      }
      return Optional.empty();
    });
  }

  @Override
  public String modelName() {
    return modelName;
  }

  @Override
  public void close() {
    targets.close();
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
