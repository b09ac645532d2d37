package io.kvw.worker.intake;

import io.kvw.common.ErrorInfo;
import io.kvw.common.ErrorType;
import io.kvw.common.InferenceResult;
import io.kvw.common.openai.OpenAiCall;
import io.kvw.worker.admission.Admission;
import io.kvw.worker.dispatch.Dispatcher;
import io.kvw.worker.observe.RecordLog;
import io.kvw.worker.observe.trace.RecordTrace;
import io.kvw.worker.observe.trace.Tracing;
import io.kvw.worker.publish.OutcomePublisher;
import org.apache.kafka.clients.consumer.ConsumerRecord;
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
  private final Tracing tracing;

  public Handoff(Admission admission, Dispatcher dispatcher, OutcomePublisher publisher,
      Tracing tracing) {
    this.admission = admission;
    this.dispatcher = dispatcher;
    this.publisher = publisher;
    this.tracing = tracing;
  }

  /** A polled record with its trace: the one on its headers continued, or a new one. */
  public PolledRecord polled(ConsumerRecord<byte[], byte[]> record, RecordHandle handle,
      long polledAtNanos) {
    RecordTrace trace = tracing.start(record);
    return new PolledRecord(record, handle, polledAtNanos, trace);
  }

  /**
   * Admits the record, one of {@code recordsInPoll} its poll brought, and dispatches it, or
   * publishes its refusal. The verdict may come later, from admission's prompt preparation
   * (off the intake thread, unless the record came alone: Admission#admit).
   */
  public void accept(PolledRecord polled, int recordsInPoll) {
    // no log scope here: admission writes no line on this thread, and route opens its own
    try {
      admission.admit(polled, recordsInPoll, verdict -> route(polled, verdict));
    } catch (RuntimeException e) {
      // a bug in admission must not lose the record or stop intake: refuse it, loudly
      log.error("admission failed on {}; refusing the record", polled.source(), e);
      route(polled, Admission.failed(polled, e));
    }
  }

  /** Runs on the intake thread or on admission's preparation thread: its own log scope. */
  private void route(PolledRecord polled, Admission.Verdict verdict) {
    if (polled.handle().isAbandoned()) {
      polled.trace().end("abandoned");
      return; // given back to its source meanwhile: it is read again
    }
    if (verdict instanceof Admission.Admitted admitted) {
      if (log.isDebugEnabled()) {
        try (RecordLog scope = RecordLog.open(polled, admitted.request().id())) {
          log.debug("request {} admitted", admitted.request().id());
        }
      }
      // no log scope around the hand-over: six MDC entries set and restored cost more than
      // the hand-over itself, and lines written later open the record's scope themselves
      dispatcher.dispatch(admitted);
      return;
    }
    Admission.Refused r = (Admission.Refused) verdict;
    try (RecordLog scope = RecordLog.open(polled, r.requestId())) {
      publish(polled, r.requestId(), r.model(), r.metadata(), r.type(), r.message(),
          r.openAi());
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
          type, message, a.request().openAi());
    } else {
      Admission.Refused r = (Admission.Refused) verdict;
      publish(polled, r.requestId(), r.model(), r.metadata(), r.type(), r.message(),
          r.openAi());
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
      return Admission.failed(polled, e);
    }
  }

  private void publish(PolledRecord polled, String id, String model,
      com.fasterxml.jackson.databind.JsonNode metadata, ErrorType type, String message,
      OpenAiCall openAi) {
    publisher.publish(polled, InferenceResult.failure(id, model, new ErrorInfo(type, message), 0,
        metadata, polled.source()), openAi);
  }
}
