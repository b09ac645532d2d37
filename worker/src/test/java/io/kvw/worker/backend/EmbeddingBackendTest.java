package io.kvw.worker.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.grpc.Status;
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
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Embedding through the vLLM gRPC backend against the simulator over loopback. */
class EmbeddingBackendTest {
  private static final int DIM = 16;
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
    // and a healthy call afterwards answers both inputs
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
