package io.kvw.worker.backend.vllm;

import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.kvw.common.Output;
import io.kvw.common.Usage;
import io.kvw.proto.vllm.GenerateComplete;
import io.kvw.proto.vllm.GenerateRequest;
import io.kvw.proto.vllm.GenerateResponse;
import io.kvw.proto.vllm.GenerateStreamChunk;
import io.kvw.worker.backend.BackendException;
import io.kvw.worker.backend.Generation;
import io.kvw.worker.backend.PartialOutput;
import io.kvw.worker.backend.tokenizer.TokenDecoder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * Collects one {@code Generate} stream into a {@link Generation}: token ids per sample from
 * the chunks, the final ids and finish reason from each sample's {@code GenerateComplete},
 * then text with the model's tokenizer. Completes its future exactly once; cancelling the
 * future cancels the call.
 */
final class GenerationObserver
    implements ClientResponseObserver<GenerateRequest, GenerateResponse> {

  /** One sample's progress. */
  private static final class Sample {
    int[] ids = new int[16];
    int count;
    GenerateComplete complete;

    void add(List<Integer> more) {
      if (count + more.size() > ids.length) {
        ids = Arrays.copyOf(ids, Math.max(ids.length * 2, count + more.size()));
      }
      for (int id : more) {
        ids[count++] = id;
      }
    }
  }

  private final int samples;
  private final TokenDecoder decoder;
  private final Consumer<PartialOutput> onPartial;
  private final CompletableFuture<Generation> result = new CompletableFuture<>();
  private final Sample[] state;
  private final long startNanos = System.nanoTime();
  private long firstResponseNanos;

  GenerationObserver(int samples, TokenDecoder decoder, Consumer<PartialOutput> onPartial) {
    this.samples = samples;
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
    if (response.hasChunk()) {
      GenerateStreamChunk chunk = response.getChunk();
      Sample s = sample(chunk.getIndex());
      if (s == null) {
        return;
      }
      s.add(chunk.getTokenIdsList());
      if (onPartial != null) {
        onPartial.accept(new PartialOutput(chunk.getIndex(),
            decoder.decode(Arrays.copyOf(s.ids, s.count)), s.count));
      }
    } else if (response.hasComplete()) {
      GenerateComplete c = response.getComplete();
      Sample s = sample(c.getIndex());
      if (s != null) {
        s.complete = c;
      }
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
    long end = System.nanoTime();
    List<Output> outputs = new ArrayList<>(samples);
    int prompt = 0;
    int completion = 0;
    int cached = 0;
    for (int i = 0; i < samples; i++) {
      GenerateComplete c = state[i].complete;
      if (c == null) {
        result.completeExceptionally(new BackendException(BackendException.Kind.TRANSIENT,
            "INCOMPLETE", "the stream ended without a result for sample " + i, null));
        return;
      }
      // the complete message's ids are authoritative; streamed chunks are the fallback
      int[] ids = c.getOutputIdsCount() > 0
          ? c.getOutputIdsList().stream().mapToInt(Integer::intValue).toArray()
          : Arrays.copyOf(state[i].ids, state[i].count);
      outputs.add(new Output(i, decoder.decode(ids), c.getFinishReason()));
      prompt = Math.max(prompt, c.getPromptTokens());
      completion += c.getCompletionTokens() > 0 ? c.getCompletionTokens() : ids.length;
      cached = Math.max(cached, c.getCachedTokens());
    }
    long ttft = firstResponseNanos == 0 ? -1 : (firstResponseNanos - startNanos) / 1_000_000;
    result.complete(new Generation(outputs, new Usage(prompt, completion, cached), ttft,
        (end - startNanos) / 1_000_000));
  }
}
