package io.kvw.worker.backend;

/**
 * The server's own view of its load (vLLM's {@code GetLoads}), summed over its targets.
 *
 * @param running sequences running now
 * @param waiting requests queued behind them
 * @param maxRunning the most it runs at once ({@code max_num_seqs}), 0 when unknown
 */
public record BackendLoad(int running, int waiting, int maxRunning) {}
