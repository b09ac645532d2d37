package io.kvw.worker.backend;

import io.kvw.worker.config.WorkerConfig;
import java.time.Duration;

/** Connects the backend a config names, waiting for it up to the start-up timeout. */
@FunctionalInterface
public interface BackendFactory {
  InferenceBackend connect(WorkerConfig config, Duration startupTimeout);
}
