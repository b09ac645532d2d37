package io.kvw.worker.intake;

import io.kvw.common.RecordSource;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * A consumed record on its way to an outcome: the raw record (kept byte for byte for the DLQ),
 * its {@link RecordHandle} (how its outcome is acknowledged to the intake), and when it was
 * polled.
 */
public record PolledRecord(ConsumerRecord<byte[], byte[]> record, RecordHandle handle,
    long polledAtNanos) {

  public RecordSource source() {
    return new RecordSource(record.topic(), record.partition(), record.offset());
  }
}
