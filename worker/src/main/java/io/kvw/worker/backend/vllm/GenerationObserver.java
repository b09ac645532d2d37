package io.kvw.worker.backend.vllm;

import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.kvw.common.MatchedStop;
import io.kvw.common.Output;
import io.kvw.common.SamplingParams;
import io.kvw.common.TokenLogprob;
import io.kvw.common.Usage;
import io.kvw.proto.vllm.InputLogProbs;
import io.kvw.proto.vllm.OutputLogProbs;
import io.kvw.proto.vllm.GenerateComplete;
import io.kvw.proto.vllm.GenerateRequest;
import io.kvw.proto.vllm.GenerateResponse;
import io.kvw.proto.vllm.GenerateStreamChunk;
import io.kvw.worker.backend.BackendException;
import io.kvw.worker.backend.Generation;
import io.kvw.worker.backend.PartialOutput;
import io.kvw.worker.backend.tokenizer.IncrementalText;
import io.kvw.worker.backend.tokenizer.TokenDecoder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Collects one {@code Generate} stream into a {@link Generation}. Completes its future exactly
 * once; cancelling the future cancels the call.
 *
 * <p>What vLLM sends: with {@code stream=true} every scheduler step brings a chunk holding
 * the <em>new</em> token ids of a sample (a delta), and a sample's {@code GenerateComplete}
 * repeats only its last delta (vLLM's servicer runs in DELTA output mode, the client is
 * expected to accumulate). So a streamed sample's ids are the concatenated chunks and the
 * complete message only contributes its finish reason and counts. Without streaming there are
 * no chunks and the complete message holds every id. gRPC calls these callbacks one at a time.
 */
final class GenerationObserver
    implements ClientResponseObserver<GenerateRequest, GenerateResponse> {
  private static final Logger log = LoggerFactory.getLogger(GenerationObserver.class);

  /**
   * Response messages asked of the transport at a time. gRPC's default asks for one more after
   * each message is handled, and from the callback thread that request is a hop onto the
   * channel's event loop, which then hands the next message back: at 640 requests/s the
   * worker's threads slept 8.6-8.7 times a record, 6.0-6.1 with the window (three runs each;
   * one hand-measured run put 4.1 of them on the event loops and 2.1 on the callbacks before,
   * 2.4 and 1.1 after), for a chunk and a complete message each. Asking for a window up front
   * lets one read deliver both. A long stream asks
   * for another half window once half has arrived, so if the callbacks fall behind, the
   * server's messages wait in the transport under HTTP/2 flow control, not in memory here.
   */
  static final int MESSAGE_WINDOW = 32;

  /** One sample's progress. */
  private static final class Sample {
    int[] ids = new int[32];
    int count;
    boolean streamed;
    GenerateComplete complete;
    IncrementalText partial;
    /** Logprob deltas of a streamed sample, one per chunk (only when they were asked for). */
    List<OutputLogProbs> logprobs;

    void add(GenerateStreamChunk chunk) {
      if (chunk.hasOutputLogprobs()) {
        if (logprobs == null) {
          logprobs = new ArrayList<>();
        }
        logprobs.add(chunk.getOutputLogprobs());
      }
      int n = chunk.getTokenIdsCount();
      if (count + n > ids.length) {
        ids = Arrays.copyOf(ids, Math.max(ids.length * 2, count + n));
      }
      for (int i = 0; i < n; i++) {
        ids[count++] = chunk.getTokenIds(i); // primitive access: no boxing per token
      }
      streamed = true;
    }
  }

  private final int samples;
  private final SamplingParams params;
  private final TokenDecoder decoder;
  private final Consumer<PartialOutput> onPartial;
  private final CompletableFuture<Generation> result = new CompletableFuture<>();
  private final Sample[] state;
  private final long startNanos = System.nanoTime();
  private long firstResponseNanos;
  /** The prompt's logprobs, from the first message that has them (the same for every sample). */
  private InputLogProbs promptLogprobs;
  private ClientCallStreamObserver<GenerateRequest> call;
  private int messages;

  GenerationObserver(SamplingParams params, TokenDecoder decoder,
      Consumer<PartialOutput> onPartial) {
    this.samples = params.samples();
    this.params = params;
    this.decoder = decoder;
    this.onPartial = onPartial;
    this.state = new Sample[samples];
    for (int i = 0; i < samples; i++) {
      state[i] = new Sample();
    }
  }

  CompletableFuture<Generation> result() {
    return result;
  }

  @Override
  public void beforeStart(ClientCallStreamObserver<GenerateRequest> call) {
    this.call = call;
    call.disableAutoRequestWithInitial(MESSAGE_WINDOW);
    // the dispatcher cancels the future on drain or revocation; that must reach the server
    result.whenComplete((g, e) -> {
      if (result.isCancelled()) {
        call.cancel("cancelled by the worker", null);
      }
    });
  }

  @Override
  public void onNext(GenerateResponse response) {
    if (firstResponseNanos == 0) {
      firstResponseNanos = System.nanoTime();
    }
    if (++messages % (MESSAGE_WINDOW / 2) == 0) {
      call.request(MESSAGE_WINDOW / 2);
    }
    if (response.hasChunk()) {
      GenerateStreamChunk chunk = response.getChunk();
      if (promptLogprobs == null && chunk.hasInputLogprobs()) {
        promptLogprobs = chunk.getInputLogprobs();
      }
      Sample s = sample(chunk.getIndex());
      if (s == null || s.complete != null) {
        return;
      }
      s.add(chunk);
      if (onPartial != null && chunk.getTokenIdsCount() > 0) {
        publishPartial(chunk.getIndex(), s);
      }
    } else if (response.hasComplete()) {
      GenerateComplete c = response.getComplete();
      if (promptLogprobs == null && c.hasInputLogprobs()) {
        promptLogprobs = c.getInputLogprobs();
      }
      Sample s = sample(c.getIndex());
      if (s != null && s.complete == null) {
        s.complete = c;
      }
    }
  }

  private void publishPartial(int index, Sample s) {
    try {
      if (s.partial == null) {
        s.partial = new IncrementalText(decoder);
      }
      onPartial.accept(new PartialOutput(index, s.partial.update(s.ids, s.count), s.count));
    } catch (RuntimeException e) {
      // a partial is a courtesy: losing one must not fail the generation
      log.debug("partial output of sample {} dropped", index, e);
    }
  }

  private Sample sample(int index) {
    return index >= 0 && index < samples ? state[index] : null;
  }

  @Override
  public void onError(Throwable t) {
    result.completeExceptionally(StatusClassifier.toException(t));
  }

  @Override
  public void onCompleted() {
    try {
      result.complete(generation());
    } catch (BackendException e) {
      result.completeExceptionally(e);
    } catch (RuntimeException e) {
      // e.g. the tokenizer refusing an id: the model and tokenizer disagree, not the request
      result.completeExceptionally(new BackendException(BackendException.Kind.TRANSIENT,
          "DECODE_FAILED", "cannot decode vLLM's output: " + e.getMessage(), e));
    }
  }

  private Generation generation() {
    long end = System.nanoTime();
    List<Output> outputs = new ArrayList<>(samples);
    int prompt = 0;
    int completion = 0;
    int cached = 0;
    for (int i = 0; i < samples; i++) {
      Sample s = state[i];
      GenerateComplete c = s.complete;
      if (c == null) {
        throw new BackendException(BackendException.Kind.TRANSIENT, "INCOMPLETE",
            "the stream ended without a result for sample " + i + " of " + samples, null);
      }
      int[] ids;
      int count;
      if (s.streamed) {
        ids = s.ids;
        count = s.count;
      } else {
        count = c.getOutputIdsCount();
        ids = new int[count];
        for (int k = 0; k < count; k++) {
          ids[k] = c.getOutputIds(k);
        }
      }
      outputs.add(output(i, s, c, ids, count));
      prompt = Math.max(prompt, c.getPromptTokens());
      completion += count;
      cached = Math.max(cached, c.getCachedTokens());
    }
    long ttft = firstResponseNanos == 0 ? -1 : (firstResponseNanos - startNanos) / 1_000_000;
    List<TokenLogprob> prompted = params.promptLogprobs() == null || promptLogprobs == null
        ? null : new LogprobDecoder(decoder).prompt(promptLogprobs);
    return new Generation(outputs, new Usage(prompt, completion, cached), ttft,
        (end - startNanos) / 1_000_000, prompted);
  }

  /**
   * One sample's output. The text follows vLLM's detokenizer: a stop token that ended the
   * sample is not part of the text, and a stop string ends it (kept only with
   * include_stop_str_in_output); the ids the server sent are counted as they are.
   */
  private Output output(int index, Sample s, GenerateComplete c, int[] ids, int count) {
    boolean includeStop = Boolean.TRUE.equals(params.includeStopStrInOutput());
    MatchedStop matched = null;
    int textEnd = count;
    switch (c.getMatchedStopCase()) {
      case MATCHED_TOKEN_ID -> {
        matched = MatchedStop.token(c.getMatchedTokenId());
        if (!includeStop && count > 0 && ids[count - 1] == c.getMatchedTokenId()) {
          textEnd = count - 1;
        }
      }
      case MATCHED_STOP_STR -> matched = MatchedStop.string(c.getMatchedStopStr());
      default -> { }
    }
    String text = decoder.decode(ids, 0, textEnd, params.skipsSpecialTokens());
    if (matched != null && matched.text() != null) {
      int at = text.indexOf(matched.text());
      if (at >= 0) {
        text = text.substring(0, includeStop ? at + matched.text().length() : at);
      }
    }
    List<TokenLogprob> logprobs = null;
    if (params.logprobs() != null) {
      List<OutputLogProbs> parts = s.streamed ? s.logprobs
          : c.hasOutputLogprobs() ? List.of(c.getOutputLogprobs()) : null;
      logprobs = new LogprobDecoder(decoder).output(parts == null ? List.of() : parts);
    }
    return new Output(index, text, c.getFinishReason(), matched, logprobs);
  }
}
