package io.kvw.worker.backend;

import io.kvw.common.InferenceRequest;
import java.time.Duration;

/**
 * One attempt to embed every input of a request: the backend makes one call per input, all
 * in flight together, and answers when the last one has.
 *
 * @param backendRequestId the id of this attempt; each input's call adds {@code -<index>}
 * @param request the validated embedding request
 * @param timeout the gRPC deadline of each call
 * @param prompt the inputs prepared at admission ({@link Prompt#inputs()}), or null for the
 *     backend to prepare
 */
public record EmbeddingCall(String backendRequestId, InferenceRequest request, Duration timeout,
    Prompt prompt) {}
