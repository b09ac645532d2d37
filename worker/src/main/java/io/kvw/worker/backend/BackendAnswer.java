package io.kvw.worker.backend;

/**
 * What a successful backend call returns: a {@link Generation} for a generation request, an
 * {@link Embeddings} for an embedding request. The dispatcher runs both through the same
 * limiter, retries and outage handling and only tells them apart when it publishes.
 */
public sealed interface BackendAnswer permits Generation, Embeddings {

  /** Time from sending the call to its last response. */
  long backendMs();
}
