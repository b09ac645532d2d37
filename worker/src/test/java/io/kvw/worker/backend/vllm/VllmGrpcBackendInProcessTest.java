package io.kvw.worker.backend.vllm;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import io.grpc.Status;
import io.grpc.stub.StreamObserver;
import io.kvw.common.ChatMessage;
import io.kvw.common.InferenceRequest;
import io.kvw.common.SamplingParams;
import io.kvw.proto.vllm.GenerateComplete;
import io.kvw.proto.vllm.GenerateRequest;
import io.kvw.proto.vllm.GenerateResponse;
import io.kvw.proto.vllm.GenerateStreamChunk;
import io.kvw.testkit.sim.SimTokenizer;
import io.kvw.worker.backend.BackendException;
import io.kvw.worker.backend.Generation;
import io.kvw.worker.backend.GenerationCall;
import io.kvw.worker.backend.PartialOutput;
import io.kvw.worker.backend.tokenizer.ChatTemplate;
import io.kvw.worker.backend.tokenizer.TokenDecoder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The backend against an in-process server that answers exactly as vLLM's servicer does (or
 * fails as told), so the wire mapping and the stream handling are checked message by message.
 */
class VllmGrpcBackendInProcessTest {
  private static Path tokenizerDir;
  private static HuggingFaceTokenizer encoder;

  private FakeVllm server;
  private VllmGrpcBackend backend;

  @BeforeAll
  static void tokenizer() throws Exception {
    tokenizerDir = SimTokenizer.extract();
    encoder = HuggingFaceTokenizer.newInstance(tokenizerDir.resolve("tokenizer.json"),
        Map.of("addSpecialTokens", "false"));
  }

  @AfterAll
  static void closeEncoder() {
    encoder.close();
  }

  @BeforeEach
  void start() throws Exception {
    server = new FakeVllm();
    backend = backend(Optional.empty());
  }

  private VllmGrpcBackend backend(Optional<ChatTemplate> template) throws Exception {
    return new VllmGrpcBackend(server.channels(2), "m", TokenDecoder.load(tokenizerDir),
        template);
  }

  @AfterEach
  void stop() throws Exception {
    backend.close();
    server.close();
  }

  private static int[] ids(String text) {
    return Arrays.stream(encoder.encode(text).getIds()).mapToInt(l -> (int) l).toArray();
  }

  private static GenerateResponse chunk(int index, int[] ids, int from, int to) {
    GenerateStreamChunk.Builder c = GenerateStreamChunk.newBuilder().setIndex(index)
        .setPromptTokens(7).setCompletionTokens(to - from).setCachedTokens(3);
    for (int i = from; i < to; i++) {
      c.addTokenIds(ids[i]);
    }
    return GenerateResponse.newBuilder().setChunk(c).build();
  }

  private static GenerateResponse complete(int index, int[] ids, int from, int to,
      String reason) {
    GenerateComplete.Builder c = GenerateComplete.newBuilder().setIndex(index)
        .setFinishReason(reason).setPromptTokens(7).setCompletionTokens(to - from)
        .setCachedTokens(3);
    for (int i = from; i < to; i++) {
      c.addOutputIds(ids[i]);
    }
    return GenerateResponse.newBuilder().setComplete(c).build();
  }

  /**
   * What vLLM's servicer sends with {@code stream=true}: per step a delta chunk for every
   * sample, and when a sample finishes its complete message repeating only the last delta.
   */
  private static void vllmStreams(StreamObserver<GenerateResponse> out, int[]... samples) {
    int longest = Arrays.stream(samples).mapToInt(s -> s.length).max().orElse(0);
    for (int step = 0; step < longest; step++) {
      for (int s = 0; s < samples.length; s++) {
        int[] ids = samples[s];
        if (step >= ids.length) {
          continue;
        }
        out.onNext(chunk(s, ids, step, step + 1));
        if (step == ids.length - 1) {
          out.onNext(complete(s, ids, step, step + 1, "stop"));
        }
      }
    }
    out.onCompleted();
  }

  private static InferenceRequest prompt(String text, SamplingParams params) {
    return new InferenceRequest("r", null, text, null, params, null, false, null);
  }

  private static SamplingParams samples(int n) {
    return SamplingParams.builder().n(n).build();
  }

  private Generation run(InferenceRequest request) throws Exception {
    return backend.generate(new GenerationCall("r#1", request, Duration.ofSeconds(5), null))
        .get(5, TimeUnit.SECONDS);
  }

  private static BackendException failure(CompletableFuture<?> f) throws Exception {
    try {
      f.get(5, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      assertThat(e.getCause()).isInstanceOf(BackendException.class);
      return (BackendException) e.getCause();
    }
    throw new AssertionError("expected a failure");
  }

  @Test
  void everySamplingParameterReachesVllmUnderItsOwnName() throws Exception {
    server.generate = (r, o) -> vllmStreams(o, ids("ok"));
    run(prompt("hello", SamplingParams.builder().maxTokens(64).temperature(0.7).topP(0.9)
        .topK(40).minP(0.05).stop(List.of("END", "\n\n")).seed(42).n(1).presencePenalty(0.5)
        .frequencyPenalty(0.25).repetitionPenalty(1.1).ignoreEos(true)
        .jsonSchema("{\"type\":\"object\"}").logprobs(0).promptLogprobs(2)
        .stopTokenIds(List.of(7, 9)).minTokens(3).logitBias(Map.of(5, -100.0))
        .includeStopStrInOutput(true).truncatePromptTokens(100).skipSpecialTokens(false)
        .build()));
    GenerateRequest sent = server.requests.get(0);
    assertThat(sent.getRequestId()).isEqualTo("r#1");
    // tokenized input, as the smg router sends it: the ids and the text for reference
    assertThat(sent.getTokenized().getOriginalText()).isEqualTo("hello");
    assertThat(sent.getTokenized().getInputIdsList()).containsExactlyElementsOf(
        Arrays.stream(ids("hello")).boxed().toList());
    assertThat(sent.getStream()).isTrue();
    io.kvw.proto.vllm.SamplingParams p = sent.getSamplingParams();
    assertThat(p.getMaxTokens()).isEqualTo(64);
    assertThat(p.getTemperature()).isEqualTo(0.7f);
    assertThat(p.getTopP()).isEqualTo(0.9f);
    assertThat(p.getTopK()).isEqualTo(40);
    assertThat(p.getMinP()).isEqualTo(0.05f);
    assertThat(p.getStopList()).containsExactly("END", "\n\n");
    assertThat(p.getSeed()).isEqualTo(42);
    assertThat(p.getN()).isEqualTo(1);
    assertThat(p.getPresencePenalty()).isEqualTo(0.5f);
    assertThat(p.getFrequencyPenalty()).isEqualTo(0.25f);
    assertThat(p.getRepetitionPenalty()).isEqualTo(1.1f);
    assertThat(p.getIgnoreEos()).isTrue();
    assertThat(p.getConstraintCase())
        .isEqualTo(io.kvw.proto.vllm.SamplingParams.ConstraintCase.JSON_SCHEMA);
    assertThat(p.getJsonSchema()).isEqualTo("{\"type\":\"object\"}");
    assertThat(p.hasLogprobs()).isTrue();
    assertThat(p.getLogprobs()).isZero();
    assertThat(p.getPromptLogprobs()).isEqualTo(2);
    assertThat(p.getStopTokenIdsList()).containsExactly(7, 9);
    assertThat(p.getMinTokens()).isEqualTo(3);
    assertThat(p.getLogitBiasMap()).containsEntry(5, -100f).hasSize(1);
    assertThat(p.getIncludeStopStrInOutput()).isTrue();
    assertThat(p.getTruncatePromptTokens()).isEqualTo(100);
    assertThat(p.getSkipSpecialTokens()).isFalse();
  }

  @Test
  void unsetParametersStayUnsetSoVllmAppliesItsDefaults() throws Exception {
    server.generate = (r, o) -> vllmStreams(o, ids("ok"));
    run(prompt("hello", SamplingParams.DEFAULTS));
    io.kvw.proto.vllm.SamplingParams p = server.requests.get(0).getSamplingParams();
    // on the wire, "unset" is no presence (temperature, max_tokens, seed, logprobs...) or 0
    // (top_p, top_k, min_p, the penalties, n), which the servicer reads as vLLM's defaults
    assertThat(p.hasMaxTokens() || p.hasTemperature() || p.hasSeed() || p.hasLogprobs()
        || p.hasPromptLogprobs() || p.hasTruncatePromptTokens()).isFalse();
    assertThat(List.of(p.getTopP(), p.getMinP(), p.getPresencePenalty(),
        p.getFrequencyPenalty(), p.getRepetitionPenalty())).containsOnly(0f);
    assertThat(List.of(p.getTopK(), p.getN(), p.getMinTokens())).containsOnly(0);
    assertThat(p.getIgnoreEos() || p.getIncludeStopStrInOutput()).isFalse();
    assertThat(p.getLogitBiasCount() + p.getStopTokenIdsCount()).isZero();
    assertThat(p.getStopCount()).isZero();
    assertThat(p.getConstraintCase())
        .isEqualTo(io.kvw.proto.vllm.SamplingParams.ConstraintCase.CONSTRAINT_NOT_SET);
    // outputs are decoded here, with special tokens left out
    assertThat(p.getSkipSpecialTokens()).isTrue();
  }

  @Test
  void regexAndChoiceAreTheOtherConstraints() throws Exception {
    server.generate = (r, o) -> vllmStreams(o, ids("ok"));
    run(prompt("a", SamplingParams.builder().regex("[0-9]+").build()));
    run(prompt("b", SamplingParams.builder().choice(List.of("yes", "no")).build()));
    run(prompt("c", SamplingParams.builder().grammar("root ::= \"x\"").build()));
    run(prompt("d", SamplingParams.builder().jsonObject(true).build()));
    run(prompt("e", SamplingParams.builder().structuralTag("{\"type\":\"tag\"}").build()));
    assertThat(server.requests.get(0).getSamplingParams().getRegex()).isEqualTo("[0-9]+");
    assertThat(server.requests.get(1).getSamplingParams().getChoice().getChoicesList())
        .containsExactly("yes", "no");
    assertThat(server.requests.get(2).getSamplingParams().getGrammar())
        .isEqualTo("root ::= \"x\"");
    assertThat(server.requests.get(3).getSamplingParams().getJsonObject()).isTrue();
    assertThat(server.requests.get(4).getSamplingParams().getStructuralTag())
        .isEqualTo("{\"type\":\"tag\"}");
  }

  @Test
  void theCallCarriesTheAttemptsTimeoutAsItsDeadline() throws Exception {
    server.generate = (r, o) -> vllmStreams(o, ids("ok"));
    backend.generate(new GenerationCall("r#1", prompt("x", SamplingParams.DEFAULTS),
        Duration.ofSeconds(30), null)).get(5, TimeUnit.SECONDS);
    long left = server.deadlines.get(0).timeRemaining(TimeUnit.SECONDS);
    assertThat(left).isBetween(25L, 30L);
  }

  @Test
  void streamedDeltasAddUpToTheTextAndTheRepeatedLastDeltaIsNotCountedTwice()
      throws Exception {
    int[] answer = ids("Bonjour, le monde ! Ça va ? 😀");
    server.generate = (r, o) -> vllmStreams(o, answer);
    Generation g = run(prompt("hi", SamplingParams.DEFAULTS));
    assertThat(g.outputs()).hasSize(1);
    assertThat(g.outputs().get(0).text()).isEqualTo("Bonjour, le monde ! Ça va ? 😀");
    assertThat(g.outputs().get(0).finishReason()).isEqualTo("stop");
    assertThat(g.usage().completionTokens()).isEqualTo(answer.length);
    assertThat(g.usage().promptTokens()).isEqualTo(7);
    assertThat(g.usage().cachedTokens()).isEqualTo(3);
  }

  @Test
  void aCompleteMessageWithoutChunksCarriesTheWholeOutput() throws Exception {
    int[] answer = ids("all at once");
    server.generate = (r, o) -> {
      o.onNext(complete(0, answer, 0, answer.length, "length"));
      o.onCompleted();
    };
    Generation g = run(prompt("hi", SamplingParams.DEFAULTS));
    assertThat(g.outputs().get(0).text()).isEqualTo("all at once");
    assertThat(g.outputs().get(0).finishReason()).isEqualTo("length");
    assertThat(g.usage().completionTokens()).isEqualTo(answer.length);
  }

  @Test
  void interleavedSamplesAreToldApartByIndex() throws Exception {
    int[] first = ids("the first sample is longer");
    int[] second = ids("second one");
    server.generate = (r, o) -> vllmStreams(o, first, second);
    Generation g = run(prompt("hi", samples(2)));
    assertThat(g.outputs()).extracting(o -> o.index()).containsExactly(0, 1);
    assertThat(g.outputs()).extracting(o -> o.text())
        .containsExactly("the first sample is longer", "second one");
    // the prompt is counted once, completions over every sample
    assertThat(g.usage().promptTokens()).isEqualTo(7);
    assertThat(g.usage().completionTokens()).isEqualTo(first.length + second.length);
  }

  @Test
  void aStreamThatEndsBeforeEverySampleCompletedIsTransient() throws Exception {
    int[] answer = ids("only one");
    server.generate = (r, o) -> {
      o.onNext(chunk(0, answer, 0, answer.length));
      o.onNext(complete(0, answer, answer.length - 1, answer.length, "stop"));
      o.onNext(chunk(1, answer, 0, 1));
      o.onCompleted();
    };
    BackendException e = failure(backend.generate(new GenerationCall("r#1",
        prompt("hi", samples(2)), Duration.ofSeconds(5), null)));
    assertThat(e.kind()).isEqualTo(BackendException.Kind.TRANSIENT);
    assertThat(e.getMessage()).contains("sample 1");
  }

  @Test
  void partialsGrowTokenByTokenAndNeverShowHalfACharacter() throws Exception {
    String text = "Héllo wörld 😀 done";
    int[] answer = ids(text);
    server.generate = (r, o) -> vllmStreams(o, answer);
    List<PartialOutput> partials = new CopyOnWriteArrayList<>();
    Generation g = backend.generate(new GenerationCall("s#1", prompt("hi",
        SamplingParams.DEFAULTS), Duration.ofSeconds(5), partials::add)).get(5,
        TimeUnit.SECONDS);
    assertThat(partials).hasSize(answer.length);
    List<String> texts = new ArrayList<>();
    partials.forEach(p -> texts.add(p.textSoFar()));
    for (int i = 1; i < texts.size(); i++) {
      assertThat(texts.get(i)).startsWith(texts.get(i - 1));
    }
    assertThat(texts).noneMatch(t -> t.contains("\uFFFD"));
    assertThat(partials.get(partials.size() - 1).completionTokens()).isEqualTo(answer.length);
    assertThat(texts.get(texts.size() - 1)).isEqualTo(g.outputs().get(0).text())
        .isEqualTo(text);
  }

  @Test
  void everyStatusEndsAsItsKind() throws Exception {
    for (Status.Code code : Status.Code.values()) {
      if (code == Status.Code.OK) {
        continue;
      }
      server.generate = (r, o) -> o.onError(Status.fromCode(code).withDescription("told to")
          .asRuntimeException());
      BackendException e = failure(backend.generate(new GenerationCall("r#" + code,
          prompt("x", SamplingParams.DEFAULTS), Duration.ofSeconds(5), null)));
      assertThat(e.kind()).as(code.name()).isEqualTo(StatusClassifier.kindOf(code));
      assertThat(e.status()).isEqualTo(code.name());
      assertThat(e.getMessage()).isEqualTo("told to");
    }
  }

  @Test
  void aCallPastItsDeadlineIsTransientAndTheServerIsToldToStop() throws Exception {
    server.generate = (r, o) -> { }; // never answers
    BackendException e = failure(backend.generate(new GenerationCall("r#1",
        prompt("x", SamplingParams.DEFAULTS), Duration.ofMillis(100), null)));
    assertThat(e.kind()).isEqualTo(BackendException.Kind.TRANSIENT);
    assertThat(e.status()).isEqualTo("DEADLINE_EXCEEDED");
    assertThat(server.awaitCancelled()).isTrue();
  }

  @Test
  void cancellingTheFutureCancelsTheCallOnTheServer() throws Exception {
    server.generate = (r, o) -> { };
    CompletableFuture<Generation> f = backend.generate(new GenerationCall("r#1",
        prompt("x", SamplingParams.DEFAULTS), Duration.ofSeconds(30), null));
    assertThat(server.requests).hasSize(1);
    assertThat(f.cancel(true)).isTrue();
    assertThat(server.awaitCancelled()).isTrue();
  }

  @Test
  void chatWithoutARenderableTemplateIsRejectedWithoutACall() throws Exception {
    InferenceRequest chat = new InferenceRequest("c", null, null,
        List.of(new ChatMessage("user", "Hi")), SamplingParams.DEFAULTS, null, false, null);
    BackendException e = failure(backend.generate(new GenerationCall("c#1", chat,
        Duration.ofSeconds(5), null)));
    assertThat(e.kind()).isEqualTo(BackendException.Kind.REJECTED);
    assertThat(e.getMessage()).contains("no chat template");
    assertThat(server.requests).isEmpty();
  }

  @Test
  void chatIsSentAsTheRenderedTemplate() throws Exception {
    backend.close();
    backend = backend(ChatTemplate.load(tokenizerDir));
    server.generate = (r, o) -> vllmStreams(o, ids("ok"));
    run(new InferenceRequest("c", null, null, List.of(new ChatMessage("system", "Be brief."),
        new ChatMessage("user", "Hi")), SamplingParams.DEFAULTS, null, false, null));
    String rendered = "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi"
        + "<|im_end|>\n<|im_start|>assistant\n";
    assertThat(server.requests.get(0).getTokenized().getOriginalText()).isEqualTo(rendered);
    assertThat(server.requests.get(0).getTokenized().getInputIdsList())
        .containsExactlyElementsOf(Arrays.stream(ids(rendered)).boxed().toList());
  }

  @Test
  void theModelsDefaultsFillOnlyWhatTheRequestLeftUnset() throws Exception {
    backend.close();
    backend = new VllmGrpcBackend(VllmGrpcBackend.pool(server.channels(1), a -> List.of()), "m",
        TokenDecoder.load(tokenizerDir),
        new io.kvw.worker.backend.tokenizer.PromptEncoder(TokenDecoder.load(tokenizerDir),
            Optional.empty(), 0),
        SamplingDefaults.parse("{\"temperature\":0.6,\"top_p\":0.95,\"top_k\":20,"
            + "\"min_p\":0.05,\"repetition_penalty\":1.1,\"max_tokens\":9}"));
    server.generate = (r, o) -> vllmStreams(o, ids("ok"));
    run(prompt("a", SamplingParams.DEFAULTS));
    run(prompt("b", SamplingParams.builder().temperature(0.0).topK(-1).minP(0.0).build()));
    io.kvw.proto.vllm.SamplingParams unset = server.requests.get(0).getSamplingParams();
    assertThat(unset.getTemperature()).isEqualTo(0.6f);
    assertThat(unset.getTopP()).isEqualTo(0.95f);
    assertThat(unset.getTopK()).isEqualTo(20);
    assertThat(unset.getMinP()).isEqualTo(0.05f);
    assertThat(unset.getRepetitionPenalty()).isEqualTo(1.1f);
    assertThat(unset.hasMaxTokens()).as("only the five sampling keys").isFalse();
    io.kvw.proto.vllm.SamplingParams explicit = server.requests.get(1).getSamplingParams();
    assertThat(explicit.hasTemperature()).isTrue();
    assertThat(explicit.getTemperature()).isZero();
    assertThat(explicit.getTopK()).as("-1: no top-k, sent as 0").isZero();
    assertThat(explicit.getMinP()).isZero();
    assertThat(explicit.getTopP()).isEqualTo(0.95f);
  }

  @Test
  void logprobsAndTheMatchedStopComeBackPerSample() throws Exception {
    int[] answer = ids("one two. three");
    String stop = ".";
    server.generate = (r, o) -> {
      for (int i = 0; i < answer.length; i++) {
        GenerateStreamChunk.Builder c = chunk(0, answer, i, i + 1).getChunk().toBuilder()
            .setOutputLogprobs(io.kvw.proto.vllm.OutputLogProbs.newBuilder()
                .addTokenIds(answer[i]).addTokenLogprobs(-0.5f * i)
                .addTopLogprobs(io.kvw.proto.vllm.TopLogProbs.newBuilder()
                    .addTokenIds(answer[i]).addValues(-0.5f * i)
                    .addTokenIds(answer[0]).addValues(-9f)));
        if (i == 0) {
          c.setInputLogprobs(io.kvw.proto.vllm.InputLogProbs.newBuilder()
              .addTokenIds(answer[0]).addTokenLogprobs(
                  io.kvw.proto.vllm.InputTokenLogProb.getDefaultInstance())
              .addTokenIds(answer[1]).addTokenLogprobs(
                  io.kvw.proto.vllm.InputTokenLogProb.newBuilder().setValue(-3f)));
        }
        o.onNext(GenerateResponse.newBuilder().setChunk(c).build());
      }
      o.onNext(GenerateResponse.newBuilder().setComplete(complete(0, answer,
          answer.length - 1, answer.length, "stop").getComplete().toBuilder()
          .setMatchedStopStr(stop)).build());
      o.onCompleted();
    };
    Generation g = run(prompt("hi", SamplingParams.builder().logprobs(2).promptLogprobs(1)
        .stop(List.of(stop)).build()));
    io.kvw.common.Output out = g.outputs().get(0);
    assertThat(out.matchedStop()).isEqualTo(io.kvw.common.MatchedStop.string("."));
    assertThat(out.text()).as("vLLM's text ends before the stop string").isEqualTo("one two");
    assertThat(out.logprobs()).hasSize(answer.length);
    TokenDecoder d = TokenDecoder.load(tokenizerDir);
    for (int i = 0; i < answer.length; i++) {
      io.kvw.common.TokenLogprob t = out.logprobs().get(i);
      assertThat(t.token()).isEqualTo(d.tokenText(answer[i]));
      assertThat(t.logprob()).isEqualTo(-0.5f * i);
      assertThat(t.topLogprobs()).extracting(io.kvw.common.TokenLogprob::logprob)
          .containsExactly(-0.5f * i, -9f);
    }
    assertThat(String.join("", out.logprobs().stream().map(io.kvw.common.TokenLogprob::token)
        .toList())).isEqualTo("one two. three");
    assertThat(g.promptLogprobs()).hasSize(2);
    assertThat(g.promptLogprobs().get(0)).isNull();
    assertThat(g.promptLogprobs().get(1).logprob()).isEqualTo(-3f);
    d.close();
  }

  @Test
  void aConversationTheTemplateRefusesIsRejectedWithItsMessageWithoutACall(@TempDir Path dir)
      throws Exception {
    backend.close();
    Files.writeString(dir.resolve("tokenizer_config.json"), "{\"chat_template\": \"{% if "
        + "messages[0].role == 'system' %}{{ raise_exception('System role not supported') }}"
        + "{% endif %}{{ messages[0].content }}\"}");
    backend = backend(ChatTemplate.load(dir));
    InferenceRequest chat = new InferenceRequest("c", null, null,
        List.of(new ChatMessage("system", "Be brief.")), SamplingParams.DEFAULTS, null, false,
        null);
    BackendException e = failure(backend.generate(new GenerationCall("c#1", chat,
        Duration.ofSeconds(5), null)));
    assertThat(e.kind()).isEqualTo(BackendException.Kind.REJECTED);
    assertThat(e.getMessage()).contains("System role not supported");
    assertThat(server.requests).isEmpty();
  }

  @Test
  void healthIsTheServersFlagAndFalseOnAnyError() throws Exception {
    assertThat(backend.healthy().get(5, TimeUnit.SECONDS)).isTrue();
    server.health = Boolean.FALSE;
    assertThat(backend.healthy().get(5, TimeUnit.SECONDS)).isFalse();
    server.health = Status.INTERNAL.asRuntimeException();
    assertThat(backend.healthy().get(5, TimeUnit.SECONDS)).isFalse();
  }

  @Test
  void abortSendsTheIds() throws Exception {
    backend.abort(List.of("a#1", "b#2")).get(5, TimeUnit.SECONDS);
    assertThat(server.aborts).hasSize(1);
    assertThat(server.aborts.get(0).getRequestIdsList()).containsExactly("a#1", "b#2");
  }
}
