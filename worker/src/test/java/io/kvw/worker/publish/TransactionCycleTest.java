package io.kvw.worker.publish;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvw.worker.intake.OffsetCommitter.Outcome;
import io.kvw.worker.ledger.OffsetLedger;
import io.kvw.worker.ledger.OffsetTicket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.consumer.internals.AutoOffsetResetStrategy;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

class TransactionCycleTest {
  private static final TopicPartition P0 = new TopicPartition("requests", 0);

  private final MockProducer<byte[], byte[]> producer = new MockProducer<>(true, null,
      new ByteArraySerializer(), new ByteArraySerializer());
  private final MockConsumer<byte[], byte[]> consumer =
      new MockConsumer<>(AutoOffsetResetStrategy.EARLIEST.name());
  private final OffsetLedger ledger = new OffsetLedger();
  private final TransactionCycle cycle = new TransactionCycle(producer, consumer, ledger);

  private List<Outcome> commit() {
    List<Outcome> seen = new ArrayList<>();
    cycle.commit(false, null, seen::add);
    return seen;
  }

  private void publish(OffsetTicket ticket) {
    cycle.send(() -> producer.send(new ProducerRecord<>("results", new byte[] {1}),
        (md, e) -> ticket.complete()));
  }

  @Test
  void outcomesAndTheirOffsetsCommitInOneTransaction() {
    cycle.begin();
    OffsetTicket a = ledger.track(P0, 0);
    ledger.track(P0, 1);
    OffsetTicket c = ledger.track(P0, 2);
    publish(a);
    publish(c);
    assertThat(commit()).containsExactly(Outcome.COMMITTED);
    assertThat(producer.commitCount()).isEqualTo(1);
    assertThat(producer.history()).hasSize(2);
    Map<TopicPartition, OffsetAndMetadata> sent = producer.consumerGroupOffsetsHistory().get(0)
        .values().iterator().next();
    assertThat(sent.get(P0).offset()).isEqualTo(1); // 2 is in the map
    assertThat(sent.get(P0).metadata()).startsWith("kvw1");
    assertThat(producer.transactionInFlight()).isTrue(); // the next one is open
    assertThat(ledger.committable()).isEmpty();
  }

  @Test
  void aRefusedCommitAbortsAndLeavesTheOffsetsUncommitted() {
    cycle.begin();
    OffsetTicket a = ledger.track(P0, 0);
    publish(a);
    producer.commitTransactionException = new KafkaException("generation moved on");
    assertThat(commit()).containsExactly(Outcome.ABORTED);
    assertThat(producer.commitCount()).isZero();
    assertThat(producer.history()).isEmpty(); // the outcome went with the transaction
    // the ledger still offers offset 1: the caller rewinds and the record runs again
    assertThat(ledger.committable().get(P0).offset()).isEqualTo(1);
  }

  @Test
  void aFailedSendAbortsTheTransactionInsteadOfBeingSentAgain() {
    cycle.begin();
    assertThat(cycle.failed(new KafkaException("record too large"))).isFalse();
    assertThat(commit()).containsExactly(Outcome.ABORTED);
    assertThat(producer.commitCount()).isZero();
    assertThat(commit()).containsExactly(Outcome.COMMITTED); // the failure was cleared
    assertThat(producer.commitCount()).isEqualTo(1);
  }

  @Test
  void aFencedProducerStopsWithoutCommitting() {
    cycle.begin();
    OffsetTicket a = ledger.track(P0, 0);
    publish(a);
    producer.fenceProducer();
    assertThatThrownBy(this::commit).isInstanceOf(ProducerFencedException.class);
    assertThat(producer.commitCount()).isZero();
  }
}
