package io.kvw.worker.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.grpc.Status;
import io.kvw.common.ChatMessage;
import io.kvw.common.EmbeddingInput;
import io.kvw.common.EmbeddingRequest;
import io.kvw.common.InferenceRequest;
import io.kvw.common.SamplingParams;
import io.kvw.testkit.sim.SimCalls;
import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.config.WorkerConfig;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

/** The vLLM gRPC backend against the simulator over a real loopback socket. */
class VllmGrpcBackendTest {
  private VllmSimulator sim;
  private InferenceBackend backend;

  private InferenceBackend connect(VllmSimulator.Builder b) {
    sim = b.build().start();
    backend = new VllmBackendFactory().connect(WorkerConfig.of(Map.of("vllm.target",
        sim.target())), Duration.ofSeconds(10));
    return backend;
  }

  @AfterEach
  void close() {
    if (backend != null) {
      backend.close();
    }
    if (sim != null) {
      sim.close();
    }
  }

  private static InferenceRequest prompt(String text, SamplingParams params) {
    return new InferenceRequest("r", null, text, null, params, null, false, null);
  }

  private static SamplingParams params(Integer maxTokens, Integer n) {
    return SamplingParams.builder().maxTokens(maxTokens).n(n).build();
  }

  private static Throwable failure(CompletableFuture<?> f) {
    try {
      f.get(10, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (Exception e) {
      throw new AssertionError(e);
    }
    throw new AssertionError("expected a failure");
  }

  @Test
  void tokensComeBackAsTextWithTheTokenizerFetchedFromTheServer() throws Exception {
    connect(VllmSimulator.builder().modelName("m").timeToFirstToken(Duration.ofMillis(5)));
    Generation g = backend.generate(new GenerationCall("r#1", prompt("Héllo, wörld! 😀",
        SamplingParams.DEFAULTS), Duration.ofSeconds(5), null)).get(10, TimeUnit.SECONDS);
    assertThat(g.outputs()).hasSize(1);
    assertThat(g.outputs().get(0).text()).isEqualTo("Héllo, wörld! 😀");
    assertThat(g.outputs().get(0).finishReason()).isEqualTo("stop");
    assertThat(g.usage().promptTokens()).isEqualTo(g.usage().completionTokens()).isPositive();
    assertThat(g.ttftMs()).isGreaterThanOrEqualTo(4);
    assertThat(g.backendMs()).isGreaterThanOrEqualTo(g.ttftMs());
    assertThat(backend.modelName()).isEqualTo("m");
  }

  @Test
  void samplesAreToldApartByIndexAndTheirUsageAdds() throws Exception {
    connect(VllmSimulator.builder().outputTokens(4));
    Generation g = backend.generate(new GenerationCall("r#1", prompt("alpha beta gamma delta",
        params(null, 3)), Duration.ofSeconds(5), null)).get(10, TimeUnit.SECONDS);
    assertThat(g.outputs()).extracting(o -> o.index()).containsExactly(0, 1, 2);
    assertThat(g.outputs().get(0).text()).isNotEqualTo(g.outputs().get(1).text());
    assertThat(g.usage().completionTokens()).isEqualTo(12);
  }

  @Test
  void chatMessagesAreRenderedWithTheModelsTemplate() throws Exception {
    connect(VllmSimulator.builder());
    InferenceRequest chat = new InferenceRequest("c", null, null, List.of(
        new ChatMessage("user", "Hi")), SamplingParams.DEFAULTS, null, false, null);
    Generation g = backend.generate(new GenerationCall("c#1", chat, Duration.ofSeconds(5), null))
        .get(10, TimeUnit.SECONDS);
    // the simulator echoes the rendered prompt; special tokens are skipped in the text
    assertThat(g.outputs().get(0).text()).isEqualTo("user\nHi\nassistant\n");
  }

  @Test
  void streamingRequestsSeePartialTextGrow() throws Exception {
    // tokens far enough apart that a busy test machine still sees more than one chunk
    connect(VllmSimulator.builder().timeToFirstToken(Duration.ofMillis(2))
        .timePerOutputToken(Duration.ofMillis(30)).streamInterval(Duration.ofMillis(1)));
    List<PartialOutput> partials = new CopyOnWriteArrayList<>();
    Generation g = backend.generate(new GenerationCall("s#1", prompt("one two three four five",
        SamplingParams.DEFAULTS), Duration.ofSeconds(5), partials::add)).get(10,
        TimeUnit.SECONDS);
    assertThat(partials.size()).isGreaterThan(1);
    assertThat(partials.get(partials.size() - 1).textSoFar()).isEqualTo(g.outputs().get(0)
        .text());
    assertThat(partials.get(0).textSoFar().length()).isLessThan(g.outputs().get(0).text()
        .length());
  }

  @Test
  void aStreamOfMoreMessagesThanTheRequestWindowArrivesWhole() throws Exception {
    // the observer asks the transport for a window of messages at a time, not one by one: a
    // stream several windows long must still be delivered to its end, every chunk of it.
    // Tokens 5 ms apart, so a busy machine that sends some of them together still sends
    // far more chunks than one window
    connect(VllmSimulator.builder().timeToFirstToken(Duration.ofMillis(1))
        .timePerOutputToken(Duration.ofMillis(5)).streamInterval(Duration.ofMillis(1))
        .outputTokens(150));
    List<PartialOutput> partials = new CopyOnWriteArrayList<>();
    Generation g = backend.generate(new GenerationCall("long#1", prompt("one two three",
        SamplingParams.DEFAULTS), Duration.ofSeconds(10), partials::add)).get(15,
        TimeUnit.SECONDS);
    assertThat(g.usage().completionTokens()).isEqualTo(150);
    assertThat(partials.size()).isGreaterThan(48); // one and a half of its windows of 32
    assertThat(partials.get(partials.size() - 1).textSoFar()).isEqualTo(g.outputs().get(0)
        .text());
  }

  @Test
  void aRequestTheServerRefusesIsRejectedNotRetried() {
    connect(VllmSimulator.builder().maxContextLength(8));
    // a prepared prompt goes out as it is (admission would have refused this one itself)
    Throwable e = failure(backend.generate(new GenerationCall("r#1", prompt(
        "far too many words for this tiny context", params(4, null)), Duration.ofSeconds(5),
        null, new Prompt("far too many words for this tiny context", new int[12]))));
    assertThat(e).isInstanceOfSatisfying(BackendException.class, b -> {
      assertThat(b.kind()).isEqualTo(BackendException.Kind.REJECTED);
      assertThat(b.status()).isEqualTo("INVALID_ARGUMENT");
    });
  }

  @Test
  void statusCodesMapToTheErrorTaxonomy() {
    connect(VllmSimulator.builder());
    Map<Status.Code, BackendException.Kind> expected = Map.of(
        Status.Code.INTERNAL, BackendException.Kind.TRANSIENT,
        Status.Code.RESOURCE_EXHAUSTED, BackendException.Kind.TRANSIENT,
        Status.Code.OUT_OF_RANGE, BackendException.Kind.REJECTED,
        Status.Code.UNAVAILABLE, BackendException.Kind.UNAVAILABLE);
    expected.forEach((code, kind) -> {
      sim.faults().failNext(code, 1);
      Throwable e = failure(backend.generate(new GenerationCall("r#1", prompt("x",
          SamplingParams.DEFAULTS), Duration.ofSeconds(5), null)));
      assertThat(((BackendException) e).kind()).as(code.name()).isEqualTo(kind);
    });
  }

  @Test
  void aCallPastItsDeadlineIsTransientAndTheServerSeesTheCancellation() {
    connect(VllmSimulator.builder());
    sim.faults().hang(1.0);
    Throwable e = failure(backend.generate(new GenerationCall("r#1", prompt("x",
        SamplingParams.DEFAULTS), Duration.ofMillis(200), null)));
    assertThat(((BackendException) e).status()).isEqualTo("DEADLINE_EXCEEDED");
    assertThat(((BackendException) e).kind()).isEqualTo(BackendException.Kind.TRANSIENT);
    await().atMost(Duration.ofSeconds(5)).until(() -> sim.stats().cancelled() == 1);
  }

  @Test
  void cancellingTheFutureCancelsTheCallOnTheServer() {
    connect(VllmSimulator.builder());
    sim.faults().hang(1.0);
    CompletableFuture<Generation> f = backend.generate(new GenerationCall("r#1", prompt("x",
        SamplingParams.DEFAULTS), Duration.ofSeconds(30), null));
    await().atMost(Duration.ofSeconds(5)).until(() -> sim.stats().running() == 1);
    f.cancel(true);
    await().atMost(Duration.ofSeconds(5)).until(() -> sim.stats().running() == 0);
    assertThat(sim.stats().cancelled()).isEqualTo(1);
  }

  @Test
  void abortEndsRunningRequestsOnTheServer() throws Exception {
    connect(VllmSimulator.builder());
    sim.faults().hang(1.0);
    CompletableFuture<Generation> f = backend.generate(new GenerationCall("held#1", prompt("x",
        SamplingParams.DEFAULTS), Duration.ofSeconds(30), null));
    await().atMost(Duration.ofSeconds(5)).until(() -> sim.stats().running() == 1);
    backend.abort(List.of("held#1")).get(5, TimeUnit.SECONDS);
    assertThat(f.get(5, TimeUnit.SECONDS).outputs().get(0).finishReason()).isEqualTo("abort");
  }

  @Test
  void healthFollowsTheServer() throws Exception {
    connect(VllmSimulator.builder());
    assertThat(backend.healthy().get(5, TimeUnit.SECONDS)).isTrue();
    sim.faults().unavailable(true);
    assertThat(backend.healthy().get(5, TimeUnit.SECONDS)).isFalse();
  }

  @Test
  void aDeadReplicaIsSkippedByItsCircuitWhileTheOtherServes() throws Exception {
    try (VllmSimulator second = VllmSimulator.builder().build().start()) {
      sim = VllmSimulator.builder().build().start();
      backend = new VllmBackendFactory().connect(WorkerConfig.of(Map.of("vllm.target",
          sim.target() + "," + second.target())), Duration.ofSeconds(10));
      second.stopServing();
      int refused = 0;
      for (int i = 0; i < 60; i++) {
        try {
          backend.generate(new GenerationCall("r#" + i, prompt("x", SamplingParams.DEFAULTS),
              Duration.ofSeconds(5), null)).get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
          assertThat(((BackendException) e.getCause()).kind())
              .isEqualTo(BackendException.Kind.UNAVAILABLE);
          refused++;
        }
      }
      // the dead replica costs a handful of refused calls, then its circuit opens
      assertThat(refused).isBetween(1, 10);
      sim.stopServing();
      Throwable e = null;
      for (int i = 0; i < 20 && (e == null || !"CIRCUIT_OPEN".equals(
          ((BackendException) e).status())); i++) {
        e = failure(backend.generate(new GenerationCall("x#" + i, prompt("x",
            SamplingParams.DEFAULTS), Duration.ofSeconds(5), null)));
      }
      assertThat(((BackendException) e).status()).isEqualTo("CIRCUIT_OPEN");
      assertThat(((BackendException) e).kind()).isEqualTo(BackendException.Kind.UNAVAILABLE);
    }
  }

  @Test
  void anUnreachableServerFailsStartUpNamingTheTarget() {
    assertThatThrownBy(() -> new VllmBackendFactory().connect(WorkerConfig.of(Map.of(
        "vllm.target", "127.0.0.1:1")), Duration.ofSeconds(1)))
        .hasMessage("vLLM at 127.0.0.1:1 was not reachable within 1 s (worker.startup-timeout)");
  }

  @Test
  void aConfiguredTokenizerPathIsUsedAndAWrongOneIsNamed() throws Exception {
    sim = VllmSimulator.builder().build().start();
    var dir = io.kvw.testkit.sim.SimTokenizer.extract();
    backend = new VllmBackendFactory().connect(WorkerConfig.of(Map.of("vllm.target",
        sim.target(), "vllm.tokenizer.path", dir.toString())), Duration.ofSeconds(10));
    assertThat(backend.generate(new GenerationCall("r#1", prompt("from a path",
        SamplingParams.DEFAULTS), Duration.ofSeconds(5), null)).get(10, TimeUnit.SECONDS)
        .outputs().get(0).text()).isEqualTo("from a path");
    assertThatThrownBy(() -> new VllmBackendFactory().connect(WorkerConfig.of(Map.of(
        "vllm.target", sim.target(), "vllm.tokenizer.path", "/nope")), Duration.ofSeconds(5)))
        .hasMessageStartingWith("vllm.tokenizer.path: no tokenizer.json at /nope");
  }

  @Test
  void theServersLoadComesFromGetLoads() throws Exception {
    connect(VllmSimulator.builder().maxNumSeqs(2).timeToFirstToken(Duration.ofSeconds(5)));
    List<CompletableFuture<Generation>> calls = new java.util.ArrayList<>();
    for (int i = 0; i < 3; i++) {
      calls.add(backend.generate(new GenerationCall("load-" + i, prompt("busy",
          SamplingParams.DEFAULTS), Duration.ofSeconds(30), null)));
    }
    await().atMost(Duration.ofSeconds(5)).untilAsserted(() ->
        assertThat(backend.load().get(5, TimeUnit.SECONDS))
            .contains(new BackendLoad(2, 1, 2)));
    calls.forEach(c -> c.cancel(true));
  }

  @Test
  void aServerWithoutGetLoadsReportsNoLoadSoTheLimitFollowsLatency() throws Exception {
    connect(VllmSimulator.builder().loadReports(false));
    assertThat(backend.load().get(5, TimeUnit.SECONDS)).isEmpty();
    assertThat(backend.load().get(5, TimeUnit.SECONDS)).isEmpty();
  }

  /** Embedding through the backend: one Embed call per input, over loopback. */
  @Nested
  class EmbeddingCalls {
    private static final int DIM = 16;

    private static InferenceRequest embed(Integer dimensions, EmbeddingInput... inputs) {
      return InferenceRequest.embedding("e", null, new EmbeddingRequest(List.of(inputs),
          dimensions), null, null);
    }

    private Embeddings run(InferenceRequest request) throws Exception {
      Prompt prompt = backend.prompts().prepare(request);
      return backend.embed(new EmbeddingCall("e#1", request, Duration.ofSeconds(5), prompt))
          .get(10, TimeUnit.SECONDS);
    }

    private float[] expected(String text) {
      return VllmSimulator.expectedEmbedding(sim.tokenizer().encode(text, true), DIM);
    }

    @Test
    void oneTokenizedCallPerInputAndTheAnswersInInputOrder() throws Exception {
      connect(VllmSimulator.builder().embeddingDim(DIM));
      // the first input answers last: order comes from the index, not from arrival
      sim.faults().slowPromptsContaining("slow", Duration.ofMillis(300));
      Embeddings e = run(embed(null, EmbeddingInput.ofText("slow first"),
          EmbeddingInput.ofText("second"), EmbeddingInput.ofTokens(new int[] {5, 6, 7})));
      assertThat(e.embeddings()).extracting(x -> x.index()).containsExactly(0, 1, 2);
      assertThat(e.embeddings().get(0).vector()).containsExactly(expected("slow first"));
      assertThat(e.embeddings().get(1).vector()).containsExactly(expected("second"));
      assertThat(e.embeddings().get(2).vector()).containsExactly(
          VllmSimulator.expectedEmbedding(new int[] {5, 6, 7}, DIM));
      assertThat(e.embeddings().get(2).promptTokens()).isEqualTo(3);
      assertThat(e.promptTokens()).isEqualTo(sim.tokenizer().encode("slow first", true).length
          + sim.tokenizer().encode("second", true).length + 3);

      List<SimCalls.Call> calls = sim.calls().all();
      assertThat(calls).extracting(SimCalls.Call::requestId)
          .containsExactlyInAnyOrder("e#1-0", "e#1-1", "e#1-2");
      assertThat(calls).allSatisfy(c -> {
        assertThat(c.tokenized()).isTrue();
        assertThat(c.params()).as("an Embed call").isNull();
      });
      SimCalls.Call first = sim.calls().forRequest("e#1-0").get(0);
      assertThat(first.inputIds()).containsExactly(sim.tokenizer().encode("slow first", true));
      assertThat(first.originalText()).isEqualTo("slow first");
    }

    @Test
    void dimensionsCutTheVectorAndNormaliseItAgainOnAMatryoshkaModel() throws Exception {
      connect(VllmSimulator.builder().embeddingDim(DIM).matryoshka(true));
      float[] full = expected("hello");
      float[] cut = run(embed(4, EmbeddingInput.ofText("hello"))).embeddings().get(0).vector();
      assertThat(cut).hasSize(4);
      double norm = Math.sqrt(full[0] * full[0] + full[1] * full[1] + full[2] * full[2]
          + full[3] * full[3]);
      for (int i = 0; i < 4; i++) {
        assertThat((double) cut[i]).isCloseTo(full[i] / norm, org.assertj.core.data.Offset
            .offset(1e-6));
      }
    }

    @Test
    void dimensionsAreRefusedWithVllmsMessageWhenTheModelIsNotMatryoshka() {
      connect(VllmSimulator.builder().modelName("bge").embeddingDim(DIM));
      assertThatThrownBy(() -> backend.prompts().prepare(embed(4, EmbeddingInput.ofText("x"))))
          .isInstanceOf(PromptPreparer.InvalidPromptException.class)
          .hasMessage("Model \"bge\" does not support matryoshka representation, changing "
              + "output dimensions will lead to poor results.");
    }

    @Test
    void requestsOfTheOtherKindAreRefusedAtPreparation() {
      connect(VllmSimulator.builder().modelName("bge").embeddingDim(DIM));
      assertThatThrownBy(() -> backend.prompts().prepare(new InferenceRequest("g", null, "hi",
          null, SamplingParams.DEFAULTS, null, false, null)))
          .hasMessageContaining("embedding model \"bge\" (is_generation=false)");
      backend.close();
      sim.close();
      connect(VllmSimulator.builder());
      assertThatThrownBy(() -> backend.prompts().prepare(embed(null,
          EmbeddingInput.ofText("x")))).hasMessageContaining("generation model "
              + "(is_generation=true)");
    }

    @Test
    void anInputLongerThanTheContextIsRefusedWithVllmsMessage() {
      connect(VllmSimulator.builder().embeddingDim(DIM).maxContextLength(4));
      assertThatThrownBy(() -> backend.prompts().prepare(embed(null,
          EmbeddingInput.ofTokens(new int[] {1, 2}), EmbeddingInput.ofTokens(new int[] {1, 2, 3,
              4, 5})))).hasMessage("input[1]: This model's maximum context length is 4 tokens. "
                  + "However, you requested 5 tokens in the input for embedding generation. "
                  + "Please reduce the length of the input.");
    }

    @Test
    void statusCodesAreClassifiedAsForGenerationAndNameTheInput() throws Exception {
      connect(VllmSimulator.builder().embeddingDim(DIM));
      // one input per request here, so no call of one case is still on its way in the next
      InferenceRequest one = embed(null, EmbeddingInput.ofText("a"));
      Prompt prompt = backend.prompts().prepare(one);
      for (var c : Map.of(Status.Code.RESOURCE_EXHAUSTED, BackendException.Kind.TRANSIENT,
          Status.Code.INVALID_ARGUMENT, BackendException.Kind.REJECTED,
          Status.Code.UNAVAILABLE, BackendException.Kind.UNAVAILABLE).entrySet()) {
        sim.faults().failNext(c.getKey(), 1);
        Throwable t = failure(backend.embed(new EmbeddingCall("s#" + c.getKey(), one,
            Duration.ofSeconds(5), prompt)));
        assertThat(t).isInstanceOf(BackendException.class);
        BackendException be = (BackendException) t;
        assertThat(be.kind()).as(c.getKey().name()).isEqualTo(c.getValue());
        assertThat(be.status()).isEqualTo(c.getKey().name());
      }
      // with several inputs, the error names the one that failed
      InferenceRequest two = embed(null, EmbeddingInput.ofText("a"), EmbeddingInput.ofText("b"));
      sim.faults().failNext(Status.Code.INTERNAL, 2);
      Throwable t = failure(backend.embed(new EmbeddingCall("s#two", two, Duration.ofSeconds(5),
          backend.prompts().prepare(two))));
      assertThat(t.getMessage()).matches("input\\[[01]\\]: injected fault");
      assertThat(((BackendException) t).kind()).isEqualTo(BackendException.Kind.TRANSIENT);
      // and a healthy call afterwards answers both inputs. The failed call's other input may
      // not have reached the server yet (the first failure ends the call): its fault is
      // cleared, or it would fail the healthy call instead (seen once in CI)
      sim.faults().reset();
      assertThat(run(two).embeddings()).hasSize(2);
    }

    @Test
    void generateOnTheEmbeddingModelSimulatorIsRefusedAsTheServicerDoes() {
      connect(VllmSimulator.builder().embeddingDim(DIM));
      InferenceRequest g = new InferenceRequest("g", null, "hi", null, SamplingParams.DEFAULTS,
          null, false, null);
      Throwable t = failure(backend.generate(new GenerationCall("g#1", g, Duration.ofSeconds(5),
          null, new Prompt("hi", sim.tokenizer().encode("hi", true)))));
      assertThat(((BackendException) t).kind()).isEqualTo(BackendException.Kind.REJECTED);
      assertThat(((BackendException) t).status()).isEqualTo("INVALID_ARGUMENT");
    }
  }
}
