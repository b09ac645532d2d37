package io.kvw.worker.intake;

import io.kvw.common.RecordSource;
import io.kvw.worker.observe.trace.RecordTrace;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * A consumed record on its way to an outcome: the raw record (kept byte for byte for the DLQ),
 * its {@link RecordHandle} (how its outcome is acknowledged to the intake), when it was
 * polled, and its trace.
 */
public record PolledRecord(ConsumerRecord<byte[], byte[]> record, RecordHandle handle,
    long polledAtNanos, RecordTrace trace) {

  /** A record without trace context (unit tests). */
  public PolledRecord(ConsumerRecord<byte[], byte[]> record, RecordHandle handle,
      long polledAtNanos) {
    this(record, handle, polledAtNanos, RecordTrace.NONE);
  }

  public RecordSource source() {
    return new RecordSource(record.topic(), record.partition(), record.offset());
  }
}
