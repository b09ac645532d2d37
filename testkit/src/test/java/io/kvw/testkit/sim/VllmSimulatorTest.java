package io.kvw.testkit.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.grpc.stub.StreamObserver;
import io.kvw.proto.common.GetTokenizerChunk;
import io.kvw.proto.common.GetTokenizerRequest;
import io.kvw.proto.vllm.AbortRequest;
import io.kvw.proto.vllm.GenerateComplete;
import io.kvw.proto.vllm.GenerateRequest;
import io.kvw.proto.vllm.GenerateResponse;
import io.kvw.proto.vllm.GetLoadsRequest;
import io.kvw.proto.vllm.GetModelInfoRequest;
import io.kvw.proto.vllm.GetServerInfoRequest;
import io.kvw.proto.vllm.HealthCheckRequest;
import io.kvw.proto.vllm.SamplingParams;
import io.kvw.proto.vllm.SchedulerLoad;
import io.kvw.proto.vllm.TokenizedInput;
import io.kvw.proto.vllm.VllmEngineGrpc;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.TimeUnit;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The simulator over a real loopback socket, with a plain gRPC client. */
class VllmSimulatorTest {
  private VllmSimulator sim;
  private ManagedChannel channel;

  private VllmEngineGrpc.VllmEngineBlockingStub start(VllmSimulator.Builder b) {
    sim = b.build().start();
    channel = ManagedChannelBuilder.forTarget(sim.target()).usePlaintext().build();
    return VllmEngineGrpc.newBlockingStub(channel).withDeadlineAfter(30, TimeUnit.SECONDS);
  }

  @AfterEach
  void stop() {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (sim != null) {
      sim.close();
    }
  }

  private static GenerateRequest request(String id, String text, SamplingParams params,
      boolean stream) {
    return GenerateRequest.newBuilder().setRequestId(id).setText(text)
        .setSamplingParams(params).setStream(stream).build();
  }

  private static List<GenerateComplete> completes(Iterator<GenerateResponse> it) {
    List<GenerateComplete> out = new ArrayList<>();
    it.forEachRemaining(r -> {
      if (r.hasComplete()) {
        out.add(r.getComplete());
      }
    });
    return out;
  }

  private int[] ids(GenerateComplete c) {
    return c.getOutputIdsList().stream().mapToInt(Integer::intValue).toArray();
  }

  @Test
  void echoModeAnswersWithThePromptsOwnTokens() {
    var stub = start(VllmSimulator.builder());
    List<GenerateComplete> done = completes(stub.generate(request("a", "Hello, world! Ünïcödé 😀",
        SamplingParams.getDefaultInstance(), false)));
    assertThat(done).hasSize(1);
    assertThat(sim.tokenizer().decode(ids(done.get(0)))).isEqualTo("Hello, world! Ünïcödé 😀");
    assertThat(done.get(0).getFinishReason()).isEqualTo("stop");
    assertThat(done.get(0).getPromptTokens()).isEqualTo(done.get(0).getCompletionTokens());
  }

  @Test
  void maxTokensCutsTheOutputWithFinishReasonLength() {
    var stub = start(VllmSimulator.builder());
    GenerateComplete c = completes(stub.generate(request("a", "one two three four five six",
        SamplingParams.newBuilder().setMaxTokens(2).build(), false))).get(0);
    assertThat(c.getOutputIdsCount()).isEqualTo(2);
    assertThat(c.getFinishReason()).isEqualTo("length");
    assertThat(sim.expectedEchoText("one two three four five six", 2))
        .isEqualTo(sim.tokenizer().decode(ids(c)));
  }

  @Test
  void severalSamplesAreToldApartByIndex() {
    var stub = start(VllmSimulator.builder().outputTokens(5));
    List<GenerateComplete> done = completes(stub.generate(request("a", "abc def ghi",
        SamplingParams.newBuilder().setN(2).build(), false)));
    assertThat(done).extracting(GenerateComplete::getIndex).containsExactlyInAnyOrder(0, 1);
    assertThat(done).allSatisfy(c -> assertThat(c.getOutputIdsCount()).isEqualTo(5));
    assertThat(ids(done.get(0))).isNotEqualTo(ids(done.get(1)));
  }

  @Test
  void streamedChunksAddUpToTheCompleteOutput() {
    var stub = start(VllmSimulator.builder().outputTokens(12)
        .timeToFirstToken(Duration.ofMillis(5)).timePerOutputToken(Duration.ofMillis(10))
        .streamInterval(Duration.ofMillis(1)));
    List<Integer> streamed = new ArrayList<>();
    List<GenerateComplete> done = new ArrayList<>();
    int[] chunks = {0};
    stub.generate(request("a", "stream these words", SamplingParams.getDefaultInstance(), true))
        .forEachRemaining(r -> {
          if (r.hasChunk()) {
            chunks[0]++;
            streamed.addAll(r.getChunk().getTokenIdsList());
          } else {
            done.add(r.getComplete());
          }
        });
    assertThat(chunks[0]).isGreaterThan(1);
    assertThat(streamed).isEqualTo(done.get(0).getOutputIdsList());
  }

  @Test
  void aPromptTooLongForTheContextIsInvalidArgument() {
    var stub = start(VllmSimulator.builder().maxContextLength(16));
    assertThatThrownBy(() -> completes(stub.generate(request("a", "many words ".repeat(20),
        SamplingParams.newBuilder().setMaxTokens(4).build(), false))))
        .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(
            e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
  }

  @Test
  void atMostMaxNumSeqsRunAndTheRestQueue() throws Exception {
    // waves of 400 ms: long enough that none ends between the two load readings below, even
    // on a loaded machine
    start(VllmSimulator.builder().maxNumSeqs(4).outputTokens(1)
        .timeToFirstToken(Duration.ofMillis(400)));
    var async = VllmEngineGrpc.newStub(channel);
    List<CompletableFuture<Long>> finished = new ArrayList<>();
    long t0 = System.nanoTime();
    for (int i = 0; i < 12; i++) {
      CompletableFuture<Long> f = new CompletableFuture<>();
      finished.add(f);
      async.generate(request("r" + i, "x", SamplingParams.getDefaultInstance(), false),
          new StreamObserver<>() {
            @Override
            public void onNext(GenerateResponse value) {}

            @Override
            public void onError(Throwable t) {
              f.completeExceptionally(t);
            }

            @Override
            public void onCompleted() {
              f.complete(System.nanoTime() - t0);
            }
          });
    }
    var blocking = VllmEngineGrpc.newBlockingStub(channel);
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    // received counts a call before it is tokenized and queued: wait until all 12 are queued
    while ((sim.stats().received() < 12
        || sim.stats().running() + sim.stats().waiting() < 12) && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    SchedulerLoad load = blocking.getLoads(GetLoadsRequest.getDefaultInstance()).getLoads(0);
    assertThat(load.getNumRunningReqs()).isEqualTo(4);
    assertThat(load.getMaxRunningRequests()).isEqualTo(4);
    assertThat(load.getNumRunningReqs() + load.getNumWaitingReqs()).isEqualTo(
        blocking.getServerInfo(GetServerInfoRequest.getDefaultInstance()).getActiveRequests());
    CompletableFuture.allOf(finished.toArray(CompletableFuture[]::new)).get(10, TimeUnit.SECONDS);
    assertThat(sim.stats().completed()).isEqualTo(12);
    assertThat(sim.stats().maxRunning()).isEqualTo(4);
    assertThat(sim.stats().maxWaiting()).isGreaterThanOrEqualTo(4);
    // three waves of 400 ms: the last answer cannot come before 1200 ms
    long last = finished.stream().mapToLong(CompletableFuture::join).max().orElseThrow();
    assertThat(Duration.ofNanos(last)).isGreaterThanOrEqualTo(Duration.ofMillis(1190));
    assertThat(sim.capacity(1)).isEqualTo(10.0);
  }

  @Test
  void abortEndsARunningRequestAndFreesItsSlot() throws Exception {
    var stub = start(VllmSimulator.builder().maxNumSeqs(1));
    sim.faults().hang(1.0);
    CompletableFuture<List<GenerateComplete>> hung = CompletableFuture.supplyAsync(() ->
        completes(stub.generate(request("stuck", "x", SamplingParams.getDefaultInstance(),
            false))));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (sim.stats().running() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(10);
    }
    sim.faults().reset();
    stub.abort(AbortRequest.newBuilder().addRequestIds("stuck").build());
    assertThat(hung.get(5, TimeUnit.SECONDS).get(0).getFinishReason()).isEqualTo("abort");
    assertThat(sim.stats().aborted()).isEqualTo(1);
    assertThat(completes(stub.generate(request("next", "y", SamplingParams.getDefaultInstance(),
        false)))).hasSize(1);
  }

  @Test
  void faultsFailCallsWithTheirStatus() {
    var stub = start(VllmSimulator.builder());
    sim.faults().failNext(Status.Code.INTERNAL, 1);
    assertThatThrownBy(() -> completes(stub.generate(request("a", "x",
        SamplingParams.getDefaultInstance(), false))))
        .hasMessageContaining("INTERNAL");
    assertThat(completes(stub.generate(request("b", "x", SamplingParams.getDefaultInstance(),
        false)))).hasSize(1);
    sim.faults().unavailable(true);
    assertThatThrownBy(() -> stub.healthCheck(HealthCheckRequest.getDefaultInstance()))
        .hasMessageContaining("UNAVAILABLE");
    sim.faults().unavailable(false);
    assertThat(stub.healthCheck(HealthCheckRequest.getDefaultInstance()).getHealthy()).isTrue();
  }

  @Test
  void getTokenizerServesAVerifiableZipOfTheTokenizer() throws Exception {
    var stub = start(VllmSimulator.builder().modelName("m1"));
    ByteArrayOutputStream zip = new ByteArrayOutputStream();
    List<GetTokenizerChunk> chunks = new ArrayList<>();
    stub.getTokenizer(GetTokenizerRequest.getDefaultInstance()).forEachRemaining(c -> {
      chunks.add(c);
      zip.writeBytes(c.getData().toByteArray());
    });
    assertThat(chunks.get(chunks.size() - 1).getSha256()).isEqualTo(HexFormat.of().formatHex(
        MessageDigest.getInstance("SHA-256").digest(zip.toByteArray())));
    List<String> names = new ArrayList<>();
    try (ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(zip.toByteArray()))) {
      for (ZipEntry e; (e = in.getNextEntry()) != null; ) {
        names.add(e.getName());
      }
    }
    assertThat(names).contains("tokenizer.json", "tokenizer_config.json");
    var info = stub.getModelInfo(GetModelInfoRequest.getDefaultInstance());
    assertThat(info.getServedModelName()).isEqualTo("m1");
    assertThat(info.getEosTokenIdsList()).isNotEmpty();
    assertThat(stub.getLoads(GetLoadsRequest.getDefaultInstance()).getLoads(0)
        .getMaxRunningRequests()).isEqualTo(256);
  }

  @Test
  void aStoppedServerRefusesAndComesBackOnTheSamePort() {
    var stub = start(VllmSimulator.builder());
    int port = sim.port();
    sim.stopServing();
    assertThatThrownBy(() -> stub.healthCheck(HealthCheckRequest.getDefaultInstance()))
        .hasMessageContaining("UNAVAILABLE");
    sim.start();
    assertThat(sim.port()).isEqualTo(port);
    assertThat(VllmEngineGrpc.newBlockingStub(channel).withWaitForReady()
        .withDeadlineAfter(10, TimeUnit.SECONDS).healthCheck(
            HealthCheckRequest.getDefaultInstance()).getHealthy()).isTrue();
  }

  @Test
  void tokenizedInputIsUsedAsGiven() {
    var stub = start(VllmSimulator.builder());
    GenerateRequest r = GenerateRequest.newBuilder().setRequestId("t")
        .setTokenized(TokenizedInput.newBuilder().addInputIds(7).addInputIds(300)
            .addInputIds(42))
        .setSamplingParams(SamplingParams.getDefaultInstance()).build();
    GenerateComplete c = completes(stub.generate(r)).get(0);
    assertThat(c.getOutputIdsList()).containsExactly(7, 300, 42);
    assertThat(c.getPromptTokens()).isEqualTo(3);
  }

  @Test
  void outputTokensCyclesThePromptAndTheStaticHelperPredictsIt() {
    var stub = start(VllmSimulator.builder().outputTokens(9));
    List<GenerateComplete> done = completes(stub.generate(request("a", "ping pong",
        SamplingParams.newBuilder().setN(2).build(), false)));
    for (GenerateComplete c : done) {
      assertThat(c.getFinishReason()).isEqualTo("stop");
      assertThat(c.getCompletionTokens()).isEqualTo(9);
      assertThat(sim.tokenizer().decode(ids(c))).isEqualTo(
          VllmSimulator.expectedText("ping pong", 9, 64, c.getIndex()));
    }
    GenerateComplete cut = completes(stub.generate(request("b", "ping pong",
        SamplingParams.newBuilder().setMaxTokens(4).build(), false))).get(0);
    assertThat(cut.getFinishReason()).isEqualTo("length");
    assertThat(sim.tokenizer().decode(ids(cut)))
        .isEqualTo(VllmSimulator.expectedText("ping pong", 9, 4, 0));
    assertThat(VllmSimulator.expectedText("Hello, world!", null, 64, 0))
        .isEqualTo("Hello, world!");
  }

  @Test
  void streamedSamplesCarryTheirIndex() {
    var stub = start(VllmSimulator.builder().timePerOutputToken(Duration.ofMillis(1))
        .streamInterval(Duration.ofMillis(1)));
    List<List<Integer>> streamed = List.of(new ArrayList<>(), new ArrayList<>());
    List<GenerateComplete> done = new ArrayList<>();
    stub.generate(request("a", "a few words to stream", SamplingParams.newBuilder().setN(2)
        .build(), true)).forEachRemaining(r -> {
          if (r.hasChunk()) {
            streamed.get(r.getChunk().getIndex()).addAll(r.getChunk().getTokenIdsList());
          } else {
            done.add(r.getComplete());
          }
        });
    assertThat(done).hasSize(2);
    for (GenerateComplete c : done) {
      assertThat(streamed.get(c.getIndex())).isEqualTo(c.getOutputIdsList());
    }
  }

  @Test
  void invalidSamplingParametersAreInvalidArgument() {
    var stub = start(VllmSimulator.builder());
    for (SamplingParams p : List.of(SamplingParams.newBuilder().setTemperature(-0.5f).build(),
        SamplingParams.newBuilder().setTopP(1.5f).build(),
        SamplingParams.newBuilder().setLogprobs(21).build(),
        SamplingParams.newBuilder().setMaxTokens(0).build())) {
      assertThatThrownBy(() -> completes(stub.generate(request("a", "x", p, false))))
          .isInstanceOfSatisfying(StatusRuntimeException.class, e -> assertThat(
              e.getStatus().getCode()).isEqualTo(Status.Code.INVALID_ARGUMENT));
    }
    assertThat(sim.stats().failed()).isEqualTo(4);
  }

  @Test
  void tokenizedInputIsUsedAsGivenAndTextGetsTheTokenizersBos() {
    var stub = start(VllmSimulator.builder().tokenizer(SimTokenizer.Variant.LLAMA3));
    int bos = sim.tokenizer().encodeSpecial("<|begin_of_text|>");
    int[] ids = sim.tokenizer().encode("hello there");
    GenerateRequest tokenized = GenerateRequest.newBuilder().setRequestId("t")
        .setTokenized(io.kvw.proto.vllm.TokenizedInput.newBuilder().setOriginalText("hello")
            .addAllInputIds(java.util.Arrays.stream(ids).boxed().toList()))
        .setSamplingParams(SamplingParams.newBuilder().setTemperature(0f)).build();
    assertThat(completes(stub.generate(tokenized)).get(0).getPromptTokens())
        .isEqualTo(ids.length);
    completes(stub.generate(request("x", "hello there", SamplingParams.getDefaultInstance(),
        false)));
    List<SimCalls.Call> calls = sim.calls().all();
    assertThat(calls).extracting(SimCalls.Call::requestId).containsExactly("t", "x");
    assertThat(calls.get(0).tokenized()).isTrue();
    assertThat(calls.get(0).inputIds()).isEqualTo(ids);
    assertThat(calls.get(0).originalText()).isEqualTo("hello");
    assertThat(calls.get(0).params().hasTemperature()).isTrue();
    assertThat(calls.get(1).tokenized()).isFalse();
    assertThat(calls.get(1).inputIds()[0]).isEqualTo(bos);
    assertThat(java.util.Arrays.copyOfRange(calls.get(1).inputIds(), 1,
        calls.get(1).inputIds().length)).isEqualTo(ids);
  }

  @Test
  void theModelsSamplingDefaultsAreReported() {
    var stub = start(VllmSimulator.builder());
    assertThat(stub.getModelInfo(io.kvw.proto.vllm.GetModelInfoRequest.getDefaultInstance())
        .getDefaultSamplingParamsJson()).isEqualTo(VllmSimulator.DEFAULT_SAMPLING_PARAMS_JSON);
  }

  @Test
  void logprobsAndStopsAreReportedAsVllmDoes() {
    var stub = start(VllmSimulator.builder());
    int[] prompt = sim.tokenizer().encode("one two three four");
    GenerateComplete c = completes(stub.generate(request("l", "one two three four",
        SamplingParams.newBuilder().setLogprobs(2).setPromptLogprobs(1)
            .addStopTokenIds(prompt[2]).build(), false))).get(0);
    assertThat(c.getOutputIdsList()).containsExactly(prompt[0], prompt[1], prompt[2]);
    assertThat(c.getFinishReason()).isEqualTo("stop");
    assertThat(c.getMatchedTokenId()).isEqualTo(prompt[2]);
    for (int i = 0; i < 3; i++) {
      assertThat(c.getOutputLogprobs().getTokenLogprobs(i))
          .isEqualTo(SimLogprobs.value(prompt[i], i, 0));
      assertThat(c.getOutputLogprobs().getTopLogprobs(i).getTokenIdsList()).containsExactly(
          prompt[i], SimLogprobs.alternative(prompt[i], 1, sim.tokenizer().vocabSize()));
    }
    assertThat(c.getInputLogprobs().getTokenLogprobs(0).hasValue()).isFalse();
    assertThat(c.getInputLogprobs().getTokenLogprobs(1).getValue())
        .isEqualTo(SimLogprobs.value(prompt[1], 1, 0));
    GenerateComplete s = completes(stub.generate(request("s", "one two three four",
        SamplingParams.newBuilder().addStop(" three").build(), false))).get(0);
    assertThat(s.getMatchedStopStr()).isEqualTo(" three");
    assertThat(sim.tokenizer().decode(s.getOutputIdsList().stream().mapToInt(i -> i)
        .toArray())).endsWith(" three");
  }

  @Test
  void aClientCancellationFreesTheSlot() throws Exception {
    var stub = start(VllmSimulator.builder().maxNumSeqs(1));
    sim.faults().hang(1.0);
    CompletableFuture<ClientCallStreamObserver<GenerateRequest>> call = new CompletableFuture<>();
    CompletableFuture<Status> ended = new CompletableFuture<>();
    VllmEngineGrpc.newStub(channel).generate(request("stuck", "x",
        SamplingParams.getDefaultInstance(), false),
        new ClientResponseObserver<GenerateRequest, GenerateResponse>() {
          @Override
          public void beforeStart(ClientCallStreamObserver<GenerateRequest> requestStream) {
            call.complete(requestStream);
          }

          @Override
          public void onNext(GenerateResponse value) {}

          @Override
          public void onError(Throwable t) {
            ended.complete(Status.fromThrowable(t));
          }

          @Override
          public void onCompleted() {
            ended.complete(Status.OK);
          }
        });
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (sim.stats().running() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    call.get().cancel("test gives up", null);
    assertThat(ended.get(5, TimeUnit.SECONDS).getCode()).isEqualTo(Status.Code.CANCELLED);
    while (sim.stats().cancelled() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(sim.stats().cancelled()).isEqualTo(1);
    assertThat(sim.stats().running()).isZero();
    sim.faults().hang(0);
    assertThat(completes(stub.generate(request("next", "y", SamplingParams.getDefaultInstance(),
        false)))).hasSize(1);
  }

  @Test
  void abortEndsAQueuedRequestWithoutOutput() throws Exception {
    var stub = start(VllmSimulator.builder().maxNumSeqs(1));
    sim.faults().hang(1.0);
    CompletableFuture.runAsync(() -> completes(stub.generate(request("first", "x",
        SamplingParams.getDefaultInstance(), false))));
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
    while (sim.stats().running() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    sim.faults().hang(0);
    CompletableFuture<List<GenerateComplete>> queued = CompletableFuture.supplyAsync(() ->
        completes(stub.generate(request("second", "y", SamplingParams.getDefaultInstance(),
            false))));
    while (sim.stats().waiting() == 0 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    stub.abort(AbortRequest.newBuilder().addRequestIds("second").build());
    GenerateComplete c = queued.get(5, TimeUnit.SECONDS).get(0);
    assertThat(c.getFinishReason()).isEqualTo("abort");
    assertThat(c.getOutputIdsCount()).isZero();
    assertThat(sim.stats().waiting()).isZero();
    assertThat(sim.stats().running()).isEqualTo(1);
  }

  @Test
  void failRateFailsAboutThatShareOfCalls() {
    var stub = start(VllmSimulator.builder());
    sim.faults().failRate(Status.Code.RESOURCE_EXHAUSTED, 0.5);
    int failed = 0;
    for (int i = 0; i < 100; i++) {
      try {
        completes(stub.generate(request("r" + i, "x", SamplingParams.getDefaultInstance(),
            false)));
      } catch (StatusRuntimeException e) {
        assertThat(e.getStatus().getCode()).isEqualTo(Status.Code.RESOURCE_EXHAUSTED);
        failed++;
      }
    }
    assertThat(failed).isBetween(30, 70);
    assertThat(sim.stats().failed()).isEqualTo(failed);
  }

  @Test
  void slowAndUnavailableChangeWhatCallersSee() {
    var stub = start(VllmSimulator.builder());
    sim.faults().slow(Duration.ofMillis(150), 1.0);
    long t0 = System.nanoTime();
    completes(stub.generate(request("a", "x", SamplingParams.getDefaultInstance(), false)));
    assertThat(Duration.ofNanos(System.nanoTime() - t0)).isGreaterThanOrEqualTo(
        Duration.ofMillis(150));
    sim.faults().reset().unavailable(true);
    assertThatThrownBy(() -> completes(stub.generate(request("b", "x",
        SamplingParams.getDefaultInstance(), false)))).hasMessageContaining("UNAVAILABLE");
    assertThat(stub.getServerInfo(GetServerInfoRequest.getDefaultInstance()).getIsPaused())
        .isTrue();
  }

  /** Sends {@code total} requests, at most {@code concurrency} open; returns requests/s. */
  private double pump(int total, int concurrency, String prompt) throws Exception {
    var async = VllmEngineGrpc.newStub(channel);
    Semaphore inFlight = new Semaphore(concurrency);
    CountDownLatch done = new CountDownLatch(total);
    AtomicInteger errors = new AtomicInteger();
    long t0 = System.nanoTime();
    for (int i = 0; i < total; i++) {
      inFlight.acquire();
      async.generate(request("r" + i, prompt, SamplingParams.getDefaultInstance(), false),
          new StreamObserver<>() {
            @Override
            public void onNext(GenerateResponse value) {}

            @Override
            public void onError(Throwable t) {
              errors.incrementAndGet();
              inFlight.release();
              done.countDown();
            }

            @Override
            public void onCompleted() {
              inFlight.release();
              done.countDown();
            }
          });
    }
    assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
    assertThat(errors.get()).isZero();
    return total / ((System.nanoTime() - t0) / 1e9);
  }

  /** Overhead benchmarks need the zero-delay simulator to be far faster than the worker. */
  @Test
  void zeroDelayModeAnswersThousandsOfRequestsPerSecond() throws Exception {
    start(VllmSimulator.builder().outputTokens(8));
    pump(3000, 256, "a short prompt"); // warm-up: JIT and connection
    double perSecond = pump(6000, 256, "a short prompt");
    System.out.printf("simulator zero-delay, 256 concurrent: %.0f requests/s%n", perSecond);
    assertThat(sim.stats().completed()).isEqualTo(9000);
    assertThat(perSecond).isGreaterThan(1000);
  }

  /** Open streams wait on timers, not threads. */
  @Test
  void thousandsOfWaitingStreamsNeedNoThreadEach() throws Exception {
    start(VllmSimulator.builder().maxNumSeqs(1000).outputTokens(4)
        .timeToFirstToken(Duration.ofMillis(1000)).timePerOutputToken(Duration.ofMillis(10)));
    int threadsBefore = Thread.activeCount();
    CompletableFuture<Double> run = CompletableFuture.supplyAsync(() -> {
      try {
        return pump(2000, 2000, "x");
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
    while (sim.stats().maxRunning() < 1000 && System.nanoTime() < deadline) {
      Thread.sleep(5);
    }
    assertThat(sim.stats().maxRunning()).isEqualTo(1000);
    assertThat(Thread.activeCount() - threadsBefore).isLessThan(50);
    run.get(30, TimeUnit.SECONDS);
    assertThat(sim.stats().completed()).isEqualTo(2000);
    assertThat(sim.stats().maxRunning()).isEqualTo(1000);
  }
}
