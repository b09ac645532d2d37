package io.kvw.worker.observe;

import io.kvw.worker.intake.PolledRecord;
import org.slf4j.MDC;

/**
 * Puts a record's coordinates into the logging MDC while a thread works on it, so every line
 * about the record (in text or JSON) carries them: {@code request_id}, {@code topic},
 * {@code partition}, {@code offset}, {@code trace_id} and {@code worker_id}. Closing restores
 * what the thread had before, so scopes may nest (an outcome published inline from a
 * dispatcher callback).
 */
public final class RecordLog implements AutoCloseable {
  public static final String REQUEST_ID = "request_id";
  public static final String TOPIC = "topic";
  public static final String PARTITION = "partition";
  public static final String OFFSET = "offset";
  public static final String TRACE_ID = "trace_id";
  public static final String WORKER_ID = "worker_id";
  private static final String[] KEYS = {REQUEST_ID, TOPIC, PARTITION, OFFSET, TRACE_ID,
      WORKER_ID};

  private final String[] previous = new String[KEYS.length];

  private RecordLog(PolledRecord polled, String requestId) {
    for (int i = 0; i < KEYS.length; i++) {
      previous[i] = MDC.get(KEYS[i]);
    }
    var record = polled.record();
    MDC.put(REQUEST_ID, requestId != null ? requestId : polled.source().defaultRequestId());
    MDC.put(TOPIC, record.topic());
    MDC.put(PARTITION, Integer.toString(record.partition()));
    MDC.put(OFFSET, Long.toString(record.offset()));
    MDC.put(TRACE_ID, polled.trace().traceId());
    MDC.put(WORKER_ID, polled.trace().workerId());
  }

  /** Opens the scope of {@code polled}, known by {@code requestId}. */
  public static RecordLog open(PolledRecord polled, String requestId) {
    return new RecordLog(polled, requestId);
  }

  /** The request id became known (admission read it from the record). */
  public void requestId(String requestId) {
    if (requestId != null) {
      MDC.put(REQUEST_ID, requestId);
    }
  }

  @Override
  public void close() {
    for (int i = 0; i < KEYS.length; i++) {
      if (previous[i] == null) {
        MDC.remove(KEYS[i]);
      } else {
        MDC.put(KEYS[i], previous[i]);
      }
    }
  }
}
