package io.kvw.testkit.sim;

import io.kvw.proto.vllm.EmbedRequest;
import io.kvw.proto.vllm.GenerateRequest;
import io.kvw.proto.vllm.SamplingParams;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What each {@code Generate} and {@code Embed} call carried, in arrival order: the request
 * id, the token ids the model would see (tokenized input as sent, or text input tokenized as
 * vLLM would) and the sampling parameters (none for Embed). Tests assert the exact tokens and
 * parameters reaching the model. Bounded: the oldest calls are dropped past
 * {@link #CAPACITY}, so benchmarks can run on.
 */
public final class SimCalls {
  static final int CAPACITY = 10_000;

  /**
   * One call.
   *
   * @param tokenized whether the client sent token ids (else text, tokenized by the server)
   * @param originalText the text sent along (tokenized input) or the text input itself
   * @param params the sampling parameters; null for an {@code Embed} call
   */
  public record Call(String requestId, boolean tokenized, int[] inputIds, String originalText,
      SamplingParams params) {}

  private final ConcurrentLinkedQueue<Call> calls = new ConcurrentLinkedQueue<>();
  /** The queue's size, kept apart: ConcurrentLinkedQueue.size() walks the whole queue. */
  private final AtomicInteger size = new AtomicInteger();

  void record(GenerateRequest request, int[] inputIds) {
    calls.add(new Call(request.getRequestId(), request.hasTokenized(), inputIds.clone(),
        request.hasTokenized() ? request.getTokenized().getOriginalText() : request.getText(),
        request.getSamplingParams()));
    bound();
  }

  void record(EmbedRequest request) {
    calls.add(new Call(request.getRequestId(), request.hasTokenized(),
        request.getTokenized().getInputIdsList().stream().mapToInt(Integer::intValue).toArray(),
        request.getTokenized().getOriginalText(), null));
    bound();
  }

  private void bound() {
    if (size.incrementAndGet() > CAPACITY && calls.poll() != null) {
      size.decrementAndGet();
    }
  }

  /** Every recorded call, oldest first. */
  public List<Call> all() {
    return List.copyOf(calls);
  }

  /** The calls whose backend request id starts with {@code requestIdPrefix}. */
  public List<Call> forRequest(String requestIdPrefix) {
    return calls.stream().filter(c -> c.requestId().startsWith(requestIdPrefix)).toList();
  }

  public void clear() {
    while (calls.poll() != null) {
      size.decrementAndGet();
    }
  }
}
