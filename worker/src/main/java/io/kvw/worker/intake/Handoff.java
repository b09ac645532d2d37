package io.kvw.worker.intake;

import io.kvw.common.ErrorInfo;
import io.kvw.common.ErrorType;
import io.kvw.common.InferenceResult;
import io.kvw.worker.admission.Admission;
import io.kvw.worker.dispatch.Dispatcher;
import io.kvw.worker.publish.OutcomePublisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Where an intake hands a polled record on: admission, then the dispatcher (a valid request)
 * or the publisher (a refusal, with its DLQ copy). Every intake uses it, so a record enters the
 * pipeline the same way whichever kind of group it came from.
 */
public final class Handoff {
  private static final Logger log = LoggerFactory.getLogger(Handoff.class);

  private final Admission admission;
  private final Dispatcher dispatcher;
  private final OutcomePublisher publisher;

  public Handoff(Admission admission, Dispatcher dispatcher, OutcomePublisher publisher) {
    this.admission = admission;
    this.dispatcher = dispatcher;
    this.publisher = publisher;
  }

  /** Admits the record and dispatches it, or publishes its refusal. */
  public void accept(PolledRecord polled) {
    Admission.Verdict verdict = verdict(polled);
    if (verdict instanceof Admission.Admitted admitted) {
      dispatcher.dispatch(admitted);
    } else {
      Admission.Refused r = (Admission.Refused) verdict;
      publish(polled, r.requestId(), r.model(), r.metadata(), r.type(), r.message());
    }
  }

  /**
   * Ends the record with {@code type} without running it (the request's id, model and
   * metadata still come from admission, so the error result reads like any other); a record
   * admission refuses ends with its own refusal instead, the more precise reason.
   */
  public void deadLetter(PolledRecord polled, ErrorType type, String message) {
    Admission.Verdict verdict = verdict(polled);
    if (verdict instanceof Admission.Admitted a) {
      publish(polled, a.request().id(), admission.modelOf(a.request()), a.request().metadata(),
          type, message);
    } else {
      Admission.Refused r = (Admission.Refused) verdict;
      publish(polled, r.requestId(), r.model(), r.metadata(), r.type(), r.message());
    }
  }

  /** Cancels the running calls of records given back to their source. */
  public void cancel(java.util.Collection<? extends RecordHandle> givenBack) {
    dispatcher.cancel(givenBack);
  }

  private Admission.Verdict verdict(PolledRecord polled) {
    try {
      return admission.admit(polled);
    } catch (RuntimeException e) {
      // a bug in admission must not lose the record or stop intake: refuse it, loudly
      log.error("admission failed on {}; refusing the record", polled.source(), e);
      return new Admission.Refused(polled, polled.source().defaultRequestId(), null, null,
          ErrorType.INVALID_REQUEST, "the worker could not read this record: "
              + e.getClass().getSimpleName());
    }
  }

  private void publish(PolledRecord polled, String id, String model,
      com.fasterxml.jackson.databind.JsonNode metadata, ErrorType type, String message) {
    publisher.publish(polled, InferenceResult.failure(id, model, new ErrorInfo(type, message), 0,
        metadata, polled.source()));
  }
}
