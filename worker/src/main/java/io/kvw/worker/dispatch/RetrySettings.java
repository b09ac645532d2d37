package io.kvw.worker.dispatch;

import java.time.Duration;

/**
 * How the dispatcher retries.
 *
 * @param maxAttempts backend calls per record for transient errors before
 *     {@code retries_exhausted}
 * @param backoff the first retry delay; it doubles per attempt up to {@code maxBackoff}, with
 *     jitter so that records failing together do not retry together
 * @param requestTimeout the deadline of one call, unless the request's own deadline is nearer
 */
public record RetrySettings(int maxAttempts, Duration backoff, Duration maxBackoff,
    Duration requestTimeout) {}
