package io.kvw.worker.admission;

import io.kvw.common.Decoded;
import io.kvw.common.ErrorType;
import io.kvw.common.InferenceRequest;
import io.kvw.common.RequestCodec;
import io.kvw.common.openai.OpenAiCall;
import io.kvw.worker.backend.Prompt;
import io.kvw.worker.backend.PromptPreparer;
import io.kvw.worker.intake.PolledRecord;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.concurrent.Executor;
import java.util.function.Consumer;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns a polled record into a typed request or a typed rejection. Nothing past admission sees
 * raw JSON. Checks, in order: the record's shape and rules (the codec), the model, the
 * deadline; then prepares the model's input (the backend's {@link PromptPreparer}: chat
 * template, tokens, context length), so a prompt the model cannot take ends here as
 * {@code invalid_request} without a backend call.
 */
public final class Admission {
  private static final Logger log = LoggerFactory.getLogger(Admission.class);

  /** The verdict on one record. */
  public sealed interface Verdict {
    PolledRecord polled();
  }

  /** A valid request and the model's input for it, to be dispatched. */
  public record Admitted(PolledRecord polled, InferenceRequest request, Prompt prompt)
      implements Verdict {

    /** A request whose prompt the backend prepares when it is sent. */
    public Admitted(PolledRecord polled, InferenceRequest request) {
      this(polled, request, null);
    }
  }

  /**
   * A record that ends here with an error result and a DLQ record; {@code openAi} is the
   * OpenAI call it was read as (its error result is written in OpenAI's shape), or null.
   */
  public record Refused(PolledRecord polled, String requestId, String model,
      com.fasterxml.jackson.databind.JsonNode metadata, ErrorType type, String message,
      OpenAiCall openAi) implements Verdict {

    public Refused(PolledRecord polled, String requestId, String model,
        com.fasterxml.jackson.databind.JsonNode metadata, ErrorType type, String message) {
      this(polled, requestId, model, metadata, type, message, null);
    }
  }

  private final RequestCodec codec;
  private final String servedModel;
  private final PromptPreparer prompts;
  private final Executor preparation;
  private final Clock clock;

  public Admission(RequestCodec codec, String servedModel, Clock clock) {
    this(codec, servedModel, PromptPreparer.TEXT_ONLY, Runnable::run, clock);
  }

  /**
   * @param prompts prepares the model's input (the backend's {@link PromptPreparer})
   * @param preparation where preparation runs. Rendering and tokenizing cost 0.1 to 1 ms per
   *     record, too much for the intake thread under a backlog (it would throttle polling),
   *     so the worker gives it a pool of its own (a small record that came alone in its poll
   *     is prepared inline all the same); {@code Runnable::run} prepares inline
   */
  public Admission(RequestCodec codec, String servedModel, PromptPreparer prompts,
      Executor preparation, Clock clock) {
    this.codec = codec;
    this.servedModel = servedModel;
    this.prompts = prompts;
    this.preparation = preparation;
    this.clock = clock;
  }

  /**
   * The largest record (its value, in bytes) that the intake thread prepares itself when its
   * poll brought no other record: about a thousand tokens, whose rendering and tokenizing
   * hold the next poll up by a millisecond at most.
   */
  public static final int PREPARE_INLINE_MAX_BYTES = 4 * 1024;

  /**
   * Admits a record and hands the verdict to {@code then}: at once for a record refused by
   * the cheap checks, after preparing its prompt (on the preparation executor) otherwise.
   * Every record gets exactly one verdict.
   */
  public void admit(PolledRecord polled, Consumer<Verdict> then) {
    admit(polled, Integer.MAX_VALUE, then);
  }

  /**
   * As {@link #admit(PolledRecord, Consumer)}, for a record that came in a poll of
   * {@code recordsInPoll}. A small record that came alone is prepared on the calling (intake)
   * thread: at partial load a poll brings one record and the intake has nothing else to do
   * until the next one arrives, while a hand-over to the pool wakes a second thread, which on
   * a busy small machine may wait for a core, on every record. Several records in one poll (a
   * backlog, saturation) go to the pool, to be prepared in parallel while the intake polls
   * again; so does a large record, whose tokenizing could hold up the next poll.
   */
  public void admit(PolledRecord polled, int recordsInPoll, Consumer<Verdict> then) {
    Verdict checked = check(polled);
    if (!(checked instanceof Admitted admitted) || prompts == PromptPreparer.TEXT_ONLY
        || cheapToPrepareHere(polled, recordsInPoll)) {
      then.accept(checked instanceof Admitted a ? prepareOrRefuse(a) : checked);
      return;
    }
    preparation.execute(() -> then.accept(prepareOrRefuse(admitted)));
  }

  /** A small record that came alone in its poll: see {@link #PREPARE_INLINE_MAX_BYTES}. */
  private static boolean cheapToPrepareHere(PolledRecord polled, int recordsInPoll) {
    byte[] value = polled.record().value();
    return recordsInPoll <= 1 && (value == null || value.length <= PREPARE_INLINE_MAX_BYTES);
  }

  /** The prepared request, or its refusal when preparing failed (a bug, not the record's). */
  private Verdict prepareOrRefuse(Admitted admitted) {
    try {
      return prepare(admitted);
    } catch (RuntimeException e) {
      log.error("preparing the prompt of {} failed; refusing the record",
          admitted.polled().handle(), e);
      return failed(admitted.polled(), e);
    }
  }

  /** Admits a record on the calling thread, prompt preparation included. */
  public Verdict admit(PolledRecord polled) {
    Verdict checked = check(polled);
    return checked instanceof Admitted a ? prepare(a) : checked;
  }

  /** The refusal of a record admission itself failed on (a bug, not the record's fault). */
  public static Refused failed(PolledRecord polled, RuntimeException e) {
    return new Refused(polled, polled.source().defaultRequestId(), null, null,
        ErrorType.INVALID_REQUEST, "the worker could not read this record: "
            + e.getClass().getSimpleName());
  }

  /** The model's input for an admitted request, or the reason the model cannot take it. */
  private Verdict prepare(Admitted a) {
    InferenceRequest request = a.request();
    try {
      return new Admitted(a.polled(), request, prompts.prepare(request));
    } catch (PromptPreparer.InvalidPromptException e) {
      return new Refused(a.polled(), request.id(), modelOf(request), request.metadata(),
          ErrorType.INVALID_REQUEST, e.getMessage(), request.openAi());
    }
  }

  /** The cheap checks: the record's rules, the model, the deadline. */
  private Verdict check(PolledRecord polled) {
    var record = polled.record();
    Decoded decoded = codec.decode(record.value(), name -> lastHeader(record.headers(), name),
        polled.source(), record.timestamp());
    if (decoded instanceof Decoded.Rejected r) {
      return new Refused(polled, r.id(), null, r.metadata(), ErrorType.INVALID_REQUEST,
          r.message(), r.openAi());
    }
    InferenceRequest request = ((Decoded.Accepted) decoded).request();
    if (request.model() != null && !request.model().equals(servedModel)) {
      return new Refused(polled, request.id(), request.model(), request.metadata(),
          ErrorType.UNKNOWN_MODEL, "model '" + abbreviate(request.model())
              + "' is not served by this worker (it serves '" + servedModel + "')",
          request.openAi());
    }
    if (request.deadline() != null && !clock.instant().isBefore(request.deadline())) {
      return new Refused(polled, request.id(), modelOf(request), request.metadata(),
          ErrorType.EXPIRED, "deadline " + request.deadline() + " passed before the request "
              + "was sent", request.openAi());
    }
    return new Admitted(polled, request);
  }

  /** The model named in results: the request's, or the one this worker serves. */
  public String modelOf(InferenceRequest request) {
    return request.model() != null ? request.model() : servedModel;
  }

  private static String lastHeader(Headers headers, String name) {
    Header h = headers.lastHeader(name);
    return h == null || h.value() == null ? null
        : new String(h.value(), StandardCharsets.UTF_8);
  }

  private static String abbreviate(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "…";
  }
}
