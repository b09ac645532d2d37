package io.kvw.worker.backend;

import io.kvw.common.InferenceRequest;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * One attempt to run a request on the backend.
 *
 * @param backendRequestId the id sent to vLLM (unique per attempt, so Abort hits only this one)
 * @param request the validated request
 * @param timeout the gRPC deadline of this call
 * @param onPartial receives decoded partial outputs when the request asked for streaming;
 *     null otherwise. Called from a gRPC thread; must not block.
 * @param prompt the model input prepared at admission, or null for the backend to prepare
 */
public record GenerationCall(
    String backendRequestId,
    InferenceRequest request,
    Duration timeout,
    Consumer<PartialOutput> onPartial,
    Prompt prompt) {

  /** A call whose prompt the backend prepares itself. */
  public GenerationCall(String backendRequestId, InferenceRequest request, Duration timeout,
      Consumer<PartialOutput> onPartial) {
    this(backendRequestId, request, timeout, onPartial, null);
  }
}
