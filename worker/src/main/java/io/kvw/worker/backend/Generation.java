package io.kvw.worker.backend;

import io.kvw.common.Output;
import io.kvw.common.Usage;
import java.util.List;

/**
 * A finished generation: one output per sample, ordered by index.
 *
 * @param ttftMs time from sending the call to the first token, or -1 when unknown
 * @param backendMs time from sending the call to its last response
 */
public record Generation(List<Output> outputs, Usage usage, long ttftMs, long backendMs) {}
