package io.kvw.worker.admission;

import io.kvw.common.Decoded;
import io.kvw.common.ErrorType;
import io.kvw.common.InferenceRequest;
import io.kvw.common.RequestCodec;
import io.kvw.worker.intake.PolledRecord;
import java.time.Clock;

/**
 * Turns a polled record into a typed request or a typed rejection. Nothing past admission sees
 * raw JSON. Checks, in order: the record's shape and rules (the codec), the model, the
 * deadline.
 */
public final class Admission {

  /** The verdict on one record. */
  public sealed interface Verdict {
    PolledRecord polled();
  }

  /** A valid request, to be dispatched. */
  public record Admitted(PolledRecord polled, InferenceRequest request) implements Verdict {}

  /** A record that ends here with an error result and a DLQ record. */
  public record Refused(PolledRecord polled, String requestId, String model,
      com.fasterxml.jackson.databind.JsonNode metadata, ErrorType type, String message)
      implements Verdict {}

  private final RequestCodec codec;
  private final String servedModel;
  private final Clock clock;

  public Admission(RequestCodec codec, String servedModel, Clock clock) {
    this.codec = codec;
    this.servedModel = servedModel;
    this.clock = clock;
  }

  public Verdict admit(PolledRecord polled) {
    var record = polled.record();
    Decoded decoded = codec.decode(record.value(), polled.source(), record.timestamp());
    if (decoded instanceof Decoded.Rejected r) {
      return new Refused(polled, r.id(), null, r.metadata(), ErrorType.INVALID_REQUEST,
          r.message());
    }
    InferenceRequest request = ((Decoded.Accepted) decoded).request();
    if (request.model() != null && !request.model().equals(servedModel)) {
      return new Refused(polled, request.id(), request.model(), request.metadata(),
          ErrorType.UNKNOWN_MODEL, "model '" + abbreviate(request.model())
              + "' is not served by this worker (it serves '" + servedModel + "')");
    }
    if (request.deadline() != null && !clock.instant().isBefore(request.deadline())) {
      return new Refused(polled, request.id(), modelOf(request), request.metadata(),
          ErrorType.EXPIRED, "deadline " + request.deadline() + " passed before the request "
              + "was sent");
    }
    return new Admitted(polled, request);
  }

  /** The model named in results: the request's, or the one this worker serves. */
  public String modelOf(InferenceRequest request) {
    return request.model() != null ? request.model() : servedModel;
  }

  private static String abbreviate(String s) {
    return s.length() <= 64 ? s : s.substring(0, 64) + "…";
  }
}
