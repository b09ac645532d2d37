package io.kvw.worker.publish;

import io.kvw.common.DlqHeaders;
import io.kvw.common.InferenceResult;
import io.kvw.common.ResultCodec;
import io.kvw.common.openai.OpenAiCall;
import io.kvw.common.openai.OpenAiResults;
import io.kvw.worker.intake.PolledRecord;
import io.kvw.worker.observe.RecordLog;
import io.kvw.worker.observe.WorkerMetrics;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes each record's terminal outcome with the idempotent producer and, only once the broker
 * has acknowledged all of it, completes the record's handle. A result is one record on
 * the results topic; a failure is an error result plus the original record on the DLQ, and the
 * ticket completes when both are acknowledged.
 *
 * <p>A send that fails (the producer already retried up to {@code delivery.timeout.ms}) is sent
 * again after a pause, for as long as it takes: the ticket stays open, so the offset is not
 * committed and intake eventually pauses. Nothing is dropped. With exactly-once delivery the
 * {@link OutcomeGate} decides instead: the open transaction aborts and the record is redone.
 *
 * <p>Every outcome's sends pass through the gate together, after checking that the record is
 * still ours: with transactions, an outcome is thus either in the transaction that commits its
 * offset, or not sent at all.
 */
public final class OutcomePublisher implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(OutcomePublisher.class);
  private static final Duration RESEND_DELAY = Duration.ofSeconds(1);

  private final Producer<byte[], byte[]> producer;
  private final ResultCodec codec;
  private final String resultsTopic;
  private final String dlqTopic;
  private final String workerId;
  private final ScheduledExecutorService scheduler;
  private final WorkerMetrics metrics;
  private final OutcomeGate gate;
  private final OpenAiResults openAiResults = new OpenAiResults();

  public OutcomePublisher(Producer<byte[], byte[]> producer, ResultCodec codec,
      String resultsTopic, String dlqTopic, String workerId, ScheduledExecutorService scheduler,
      WorkerMetrics metrics) {
    this(producer, codec, resultsTopic, dlqTopic, workerId, scheduler, metrics,
        OutcomeGate.DIRECT);
  }

  public OutcomePublisher(Producer<byte[], byte[]> producer, ResultCodec codec,
      String resultsTopic, String dlqTopic, String workerId, ScheduledExecutorService scheduler,
      WorkerMetrics metrics, OutcomeGate gate) {
    this.gate = gate;
    this.producer = producer;
    this.codec = codec;
    this.resultsTopic = resultsTopic;
    this.dlqTopic = dlqTopic;
    this.workerId = workerId;
    this.scheduler = scheduler;
    this.metrics = metrics;
  }

  /** Publishes a result, or an error result plus the DLQ copy when {@code result} is an error. */
  public void publish(PolledRecord polled, InferenceResult result) {
    publish(polled, result, null);
  }

  /**
   * Publishes a result in the shape its request asked for: an OpenAI Batch output line when
   * {@code openAi} is set, else CONTRACT.md's result. The DLQ copy is the same either way.
   */
  public void publish(PolledRecord polled, InferenceResult result, OpenAiCall openAi) {
    ConsumerRecord<byte[], byte[]> in = polled.record();
    byte[] key = in.key() != null ? in.key() : result.id().getBytes(StandardCharsets.UTF_8);
    RecordHeaders headers = new RecordHeaders();
    polled.trace().inject(headers);
    ProducerRecord<byte[], byte[]> out =
        new ProducerRecord<>(resultsTopic, null, key, openAi == null ? codec.encode(result)
            : openAiResults.encode(result, openAi), headers);
    gate.send(() -> {
      if (polled.handle().isAbandoned()) {
        polled.trace().end("abandoned");
        return; // the record went back to its source; it will be read again
      }
      if (!result.isError()) {
        send(out, polled, result.id(), () -> finished(polled, result));
        return;
      }
      AtomicInteger parts = new AtomicInteger(2);
      Runnable onePartDone = () -> {
        if (parts.decrementAndGet() == 0) {
          finished(polled, result);
        }
      };
      send(out, polled, result.id(), onePartDone);
      send(deadLetter(polled, result), polled, result.id(), onePartDone);
    });
  }

  /** Both parts of the outcome are acknowledged: the record is done. */
  private void finished(PolledRecord polled, InferenceResult result) {
    metrics.outcome(result, polled);
    String outcome = result.isError() ? result.error().type().wireName() : "ok";
    polled.trace().end(outcome);
    polled.handle().complete();
    if (!result.isError() && !log.isDebugEnabled()) {
      return; // nothing to log: the record's log scope would cost more than the rest here
    }
    long ms = (System.nanoTime() - polled.polledAtNanos()) / 1_000_000;
    try (RecordLog scope = RecordLog.open(polled, result.id())) {
      if (result.isError()) {
        // the error message stays in the result and the DLQ record: it may quote the input
        log.info("request {} ended as {} after {} attempts in {} ms; dead-lettered",
            result.id(), outcome, result.attempts(), ms);
      } else {
        log.debug("request {} answered in {} ms ({} attempts)", result.id(), ms,
            result.attempts());
      }
    }
  }

  /** Publishing of a partial output; it frees no offset and is never sent again. */
  public void publishPartial(String topic, PolledRecord polled, byte[] key, byte[] value) {
    RecordHeaders headers = new RecordHeaders();
    polled.trace().inject(headers);
    gate.send(() -> {
      try {
        producer.send(new ProducerRecord<>(topic, null, key, value, headers), (md, e) -> {
          if (e != null) {
            log.debug("partial output not published: {}", e.toString());
          }
        });
      } catch (RuntimeException e) {
        log.debug("partial output not published: {}", e.toString());
      }
    });
  }

  private ProducerRecord<byte[], byte[]> deadLetter(PolledRecord polled,
      InferenceResult result) {
    ConsumerRecord<byte[], byte[]> in = polled.record();
    RecordHeaders headers = new RecordHeaders();
    for (Header h : in.headers()) {
      headers.add(h);
    }
    if (in.headers().lastHeader("traceparent") == null) {
      polled.trace().inject(headers); // the trace the worker started; an original one stays
    }
    header(headers, DlqHeaders.ERROR_TYPE, result.error().type().wireName());
    header(headers, DlqHeaders.ERROR_MESSAGE, result.error().message());
    header(headers, DlqHeaders.ATTEMPTS, Integer.toString(result.attempts()));
    header(headers, DlqHeaders.ORIGINAL_TOPIC, in.topic());
    header(headers, DlqHeaders.ORIGINAL_PARTITION, Integer.toString(in.partition()));
    header(headers, DlqHeaders.ORIGINAL_OFFSET, Long.toString(in.offset()));
    header(headers, DlqHeaders.ORIGINAL_TIMESTAMP, Long.toString(in.timestamp()));
    header(headers, DlqHeaders.WORKER_ID, workerId);
    return new ProducerRecord<>(dlqTopic, null, in.key(), in.value(), headers);
  }

  private static void header(RecordHeaders headers, String name, String value) {
    headers.add(name, value.getBytes(StandardCharsets.UTF_8));
  }

  private void send(ProducerRecord<byte[], byte[]> record, PolledRecord polled,
      String requestId, Runnable onAck) {
    try {
      // the log scope is opened where a line is written (finished, failed), not around every
      // acknowledgement: the four scopes a record used to open were 6 % of the worker's
      // allocation
      producer.send(record, (md, e) -> {
        if (e == null) {
          onAck.run();
        } else {
          failed(record, polled, requestId, onAck, e);
        }
      });
    } catch (RuntimeException e) {
      // e.g. the producer is closing, or its state is fatal
      failed(record, polled, requestId, onAck, e);
    }
  }

  private void failed(ProducerRecord<byte[], byte[]> record, PolledRecord polled,
      String requestId, Runnable onAck, Exception e) {
    if (polled.handle().isAbandoned()) {
      return; // given up on (revoked or drained): the record will be read again
    }
    metrics.publishFailed();
    try (RecordLog scope = RecordLog.open(polled, requestId)) {
      if (!gate.failed(e)) {
        log.warn("publishing to {} failed ({}); the transaction aborts and the record is "
            + "redone", record.topic(), e.toString());
        return;
      }
      log.warn("publishing to {} failed ({}); sending again in {} ms", record.topic(),
          e.toString(), RESEND_DELAY.toMillis());
    }
    scheduler.schedule(() -> gate.send(() -> {
      if (!polled.handle().isAbandoned()) {
        send(record, polled, requestId, onAck);
      }
    }), RESEND_DELAY.toMillis(), TimeUnit.MILLISECONDS);
  }

  /** Waits for every outcome sent so far to be acknowledged (or to fail). */
  public void flush() {
    producer.flush();
  }

  @Override
  public void close() {
    producer.close(Duration.ofSeconds(10));
  }
}
