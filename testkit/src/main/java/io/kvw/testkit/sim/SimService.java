package io.kvw.testkit.sim;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.kvw.proto.common.GetTokenizerChunk;
import io.kvw.proto.common.GetTokenizerRequest;
import io.kvw.proto.vllm.AbortRequest;
import io.kvw.proto.vllm.AbortResponse;
import io.kvw.proto.vllm.EmbedRequest;
import io.kvw.proto.vllm.EmbedResponse;
import io.kvw.proto.vllm.GenerateRequest;
import io.kvw.proto.vllm.GenerateResponse;
import io.kvw.proto.vllm.GetLoadsRequest;
import io.kvw.proto.vllm.GetLoadsResponse;
import io.kvw.proto.vllm.GetModelInfoRequest;
import io.kvw.proto.vllm.GetModelInfoResponse;
import io.kvw.proto.vllm.GetServerInfoRequest;
import io.kvw.proto.vllm.GetServerInfoResponse;
import io.kvw.proto.vllm.HealthCheckRequest;
import io.kvw.proto.vllm.HealthCheckResponse;
import io.kvw.proto.vllm.SamplingParams;
import io.kvw.proto.vllm.SchedulerLoad;
import io.kvw.proto.vllm.VllmEngineGrpc;
import java.time.Instant;
import java.util.Arrays;

/**
 * The {@code vllm.grpc.engine.VllmEngine} service of the simulator: validates like vLLM,
 * computes deterministic outputs, and leaves timing to the {@link SimEngine}.
 */
final class SimService extends VllmEngineGrpc.VllmEngineImplBase {
  private static final int TOKENIZER_CHUNK_BYTES = 64 * 1024;

  private final String modelName;
  private final Integer outputTokens;
  private final int maxContextLength;
  private final boolean loadReports;
  private final SimTokenizer tokenizer;
  private final SimEngine engine;
  private final Faults faults;
  private final SimStats stats;
  private final SimCalls calls;
  private final String samplingDefaultsJson;
  /** The embedding model this simulator is, or null for a generation model. */
  private final SimEmbeddings embeddings;
  private final SimTokenizer.Archive tokenizerArchive;
  private final long startNanos = System.nanoTime();

  SimService(String modelName, Integer outputTokens, int maxContextLength, boolean loadReports,
      SimTokenizer tokenizer, SimEngine engine, Faults faults, SimStats stats, SimCalls calls,
      String samplingDefaultsJson, SimEmbeddings embeddings) {
    this.embeddings = embeddings;
    // an embedding model's config.json (is_matryoshka) travels with its tokenizer, as in vLLM
    this.tokenizerArchive = embeddings == null
        ? new SimTokenizer.Archive(tokenizer.zip(), tokenizer.zipSha256())
        : tokenizer.archiveWithConfig(embeddings.configJson());
    this.modelName = modelName;
    this.outputTokens = outputTokens;
    this.maxContextLength = maxContextLength;
    this.loadReports = loadReports;
    this.tokenizer = tokenizer;
    this.engine = engine;
    this.faults = faults;
    this.stats = stats;
    this.calls = calls;
    this.samplingDefaultsJson = samplingDefaultsJson;
  }

  @Override
  public void generate(GenerateRequest request, StreamObserver<GenerateResponse> out) {
    long arrivalNanos = System.nanoTime();
    stats.received.incrementAndGet();
    stats.requestLog.record(request.getRequestId());
    if (failedByFault(out)) {
      return;
    }
    if (embeddings != null) {
      // a pooling model's engine refuses sampling (a ValueError: INVALID_ARGUMENT)
      stats.failed.incrementAndGet();
      out.onError(Status.INVALID_ARGUMENT.withDescription("Generate is not supported by the "
          + "embedding model " + modelName + " (is_generation=false)").asRuntimeException());
      return;
    }
    // tokenized input is used as given; text is tokenized with the special tokens, as vLLM does
    int[] prompt = request.hasTokenized()
        ? request.getTokenized().getInputIdsList().stream().mapToInt(Integer::intValue).toArray()
        : tokenizer.encodePrompt(request.getText());
    calls.record(request, prompt);
    SamplingParams p = request.getSamplingParams();
    String invalid = validate(p, prompt.length);
    if (invalid != null) {
      stats.failed.incrementAndGet();
      out.onError(Status.INVALID_ARGUMENT.withDescription(invalid).asRuntimeException());
      return;
    }
    int n = p.getN() > 0 ? p.getN() : 1;
    int natural = outputTokens != null ? outputTokens : prompt.length;
    int cap = p.hasMaxTokens() ? p.getMaxTokens() : maxContextLength - prompt.length;
    int len = Math.min(natural, cap);
    int[][] outputs = new int[n][];
    String[] reasons = new String[n];
    Object[] matched = new Object[n];
    for (int s = 0; s < n; s++) {
      outputs[s] = sample(prompt, len, s);
      reasons[s] = natural > cap ? "length" : "stop";
      matched[s] = stop(outputs, s, p, reasons);
    }
    SimEngine.Details details = new SimEngine.Details(prompt,
        p.hasLogprobs() ? p.getLogprobs() : null,
        p.hasPromptLogprobs() ? p.getPromptLogprobs() : null, tokenizer.vocabSize(), matched);
    engine.submit(engine.new Sequence(request.getRequestId(),
        (ServerCallStreamObserver<GenerateResponse>) out, outputs, reasons, prompt.length,
        request.getStream(), faults.extraDelay(originalText(request)), faults.hangs(),
        details, arrivalNanos));
  }

  /** Fails the call with an injected fault, if one is due; says whether it did. */
  private boolean failedByFault(StreamObserver<?> out) {
    Status.Code fault = faults.failureFor();
    if (fault == null) {
      return false;
    }
    stats.failed.incrementAndGet();
    out.onError(Status.fromCode(fault).withDescription("injected fault").asRuntimeException());
    return true;
  }

  /**
   * vLLM's servicer: tokenized input only (INVALID_ARGUMENT otherwise), one sequence, the
   * pooled and normalised vector with its prompt token count and dimension. After a prefill's
   * time, with the same faults as Generate; a generation model refuses it as INVALID_ARGUMENT.
   */
  @Override
  public void embed(EmbedRequest request, StreamObserver<EmbedResponse> out) {
    stats.received.incrementAndGet();
    stats.requestLog.record(request.getRequestId());
    if (failedByFault(out)) {
      return;
    }
    String invalid = embeddings == null ? "Embed is not supported by the generation model "
        + modelName + " (is_generation=true)"
        : !request.hasTokenized() ? "EmbedRequest requires tokenized input"
        : request.getTokenized().getInputIdsCount() > maxContextLength ? "This model's maximum "
            + "context length is " + maxContextLength + " tokens. However, you requested "
            + request.getTokenized().getInputIdsCount() + " tokens in the input for embedding "
            + "generation. Please reduce the length of the input." : null;
    if (invalid != null) {
      stats.failed.incrementAndGet();
      out.onError(Status.INVALID_ARGUMENT.withDescription(invalid).asRuntimeException());
      return;
    }
    calls.record(request);
    int[] ids = request.getTokenized().getInputIdsList().stream().mapToInt(Integer::intValue)
        .toArray();
    EmbedResponse.Builder response = EmbedResponse.newBuilder().setPromptTokens(ids.length)
        .setEmbeddingDim(embeddings.dim());
    for (float v : SimEmbeddings.vector(ids, embeddings.dim())) {
      response.addEmbedding(v);
    }
    if (faults.hangs()) {
      return; // never answers; the client's deadline or cancel ends the call
    }
    engine.afterPrefill(faults.extraDelay(request.getTokenized().getOriginalText()), () -> {
      stats.promptTokens.addAndGet(ids.length);
      stats.completed.incrementAndGet();
      out.onNext(response.build());
      out.onCompleted();
    });
  }

  private static String originalText(GenerateRequest request) {
    return request.hasTokenized() ? request.getTokenized().getOriginalText() : request.getText();
  }

  /**
   * Ends sample {@code s} at the first stop token id or stop string in it, as vLLM's
   * scheduler would: the output keeps the tokens up to and including the stop, the finish
   * reason becomes "stop", and what matched is returned (vLLM's stop_reason).
   */
  private Object stop(int[][] outputs, int s, SamplingParams p, String[] reasons) {
    int[] o = outputs[s];
    for (int i = 0; i < o.length && p.getStopTokenIdsCount() > 0; i++) {
      if (p.getStopTokenIdsList().contains(o[i])) {
        outputs[s] = Arrays.copyOf(o, i + 1);
        reasons[s] = "stop";
        return o[i];
      }
    }
    if (p.getStopCount() == 0) {
      return null;
    }
    for (int k = 1; k <= o.length; k++) {
      String text = tokenizer.decode(Arrays.copyOf(o, k), p.getSkipSpecialTokens());
      for (String stop : p.getStopList()) {
        if (text.contains(stop)) {
          outputs[s] = Arrays.copyOf(o, k);
          reasons[s] = "stop";
          return stop;
        }
      }
    }
    return null;
  }

  /** The prompt's tokens cycled to {@code len}, rotated by the sample index. */
  static int[] sample(int[] prompt, int len, int index) {
    if (prompt.length == 0) {
      return new int[0];
    }
    int[] out = new int[len];
    for (int i = 0; i < len; i++) {
      out[i] = prompt[(i + index) % prompt.length];
    }
    return out;
  }

  private String validate(SamplingParams p, int promptTokens) {
    if (p.hasTemperature() && p.getTemperature() < 0) {
      return "temperature must be non-negative, got " + p.getTemperature();
    }
    // top_p has no presence on the wire: 0 means unset (vLLM's 1.0)
    if (p.getTopP() < 0 || p.getTopP() > 1) {
      return "top_p must be in (0, 1], got " + p.getTopP();
    }
    if (p.hasLogprobs() && p.getLogprobs() > 20 || p.hasPromptLogprobs()
        && p.getPromptLogprobs() > 20) {
      return "Requested more than the maximum number of logprobs (20)";
    }
    if (p.hasMaxTokens() && p.getMaxTokens() < 1) {
      return "max_tokens must be at least 1, got " + p.getMaxTokens();
    }
    int maxTokens = p.hasMaxTokens() ? p.getMaxTokens() : 1;
    if (promptTokens + maxTokens > maxContextLength) {
      return "This model's maximum context length is " + maxContextLength + " tokens. However,"
          + " you requested " + (promptTokens + maxTokens) + " tokens (" + promptTokens
          + " in the messages, " + maxTokens + " in the completion).";
    }
    return null;
  }

  @Override
  public void healthCheck(HealthCheckRequest request, StreamObserver<HealthCheckResponse> out) {
    if (faults.isUnavailable()) {
      out.onError(Status.UNAVAILABLE.withDescription("injected outage").asRuntimeException());
      return;
    }
    out.onNext(HealthCheckResponse.newBuilder().setHealthy(true).setMessage("ok").build());
    out.onCompleted();
  }

  @Override
  public void abort(AbortRequest request, StreamObserver<AbortResponse> out) {
    engine.abort(request.getRequestIdsList());
    out.onNext(AbortResponse.getDefaultInstance());
    out.onCompleted();
  }

  @Override
  public void getModelInfo(GetModelInfoRequest request,
      StreamObserver<GetModelInfoResponse> out) {
    out.onNext(GetModelInfoResponse.newBuilder().setModelPath("simulator/" + modelName)
        .setIsGeneration(embeddings == null).setMaxContextLength(maxContextLength)
        .setVocabSize(tokenizer.vocabSize()).setServedModelName(modelName)
        .setTokenizerPath("simulator/" + modelName).addEosTokenIds(tokenizer.eosTokenId())
        .setMaxReqInputLen(maxContextLength)
        .setDefaultSamplingParamsJson(samplingDefaultsJson).build());
    out.onCompleted();
  }

  @Override
  public void getServerInfo(GetServerInfoRequest request,
      StreamObserver<GetServerInfoResponse> out) {
    out.onNext(GetServerInfoResponse.newBuilder()
        .setActiveRequests(engine.running() + engine.waitingCount())
        .setIsPaused(faults.isUnavailable())
        .setUptimeSeconds((System.nanoTime() - startNanos) / 1e9)
        .setServerType("vllm-sim").build());
    out.onCompleted();
  }

  @Override
  public void getLoads(GetLoadsRequest request, StreamObserver<GetLoadsResponse> out) {
    if (!loadReports) {
      out.onError(Status.UNIMPLEMENTED.withDescription("GetLoads is not offered")
          .asRuntimeException());
      return;
    }
    int running = engine.running();
    out.onNext(GetLoadsResponse.newBuilder().setTimestamp(Instant.now().toString())
        .setVersion("sim").setDpRankCount(1)
        .addLoads(SchedulerLoad.newBuilder().setDpRank(0).setNumRunningReqs(running)
            .setNumWaitingReqs(engine.waitingCount()).setNumTotalReqs(running
                + engine.waitingCount())
            .setTokenUsage((double) running / engine.maxNumSeqs())
            .setMaxRunningRequests(engine.maxNumSeqs()))
        .build());
    out.onCompleted();
  }

  @Override
  public void getTokenizer(GetTokenizerRequest request, StreamObserver<GetTokenizerChunk> out) {
    byte[] zip = tokenizerArchive.bytes();
    for (int from = 0; from < zip.length; from += TOKENIZER_CHUNK_BYTES) {
      int to = Math.min(zip.length, from + TOKENIZER_CHUNK_BYTES);
      GetTokenizerChunk.Builder chunk = GetTokenizerChunk.newBuilder()
          .setData(ByteString.copyFrom(Arrays.copyOfRange(zip, from, to)));
      if (to == zip.length) {
        chunk.setSha256(tokenizerArchive.sha256()); // on the last chunk only, as vLLM does
      }
      out.onNext(chunk.build());
    }
    out.onCompleted();
  }
}
