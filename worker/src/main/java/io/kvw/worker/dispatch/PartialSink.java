package io.kvw.worker.dispatch;

import io.kvw.common.InferenceRequest;
import io.kvw.worker.backend.PartialOutput;
import io.kvw.worker.intake.PolledRecord;

/** Receives the partial outputs of requests that asked for {@code "stream": true}. */
@FunctionalInterface
public interface PartialSink {
  void accept(PolledRecord polled, InferenceRequest request, PartialOutput partial);
}
