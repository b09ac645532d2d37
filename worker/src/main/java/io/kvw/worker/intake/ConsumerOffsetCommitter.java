package io.kvw.worker.intake;

import io.kvw.worker.ledger.OffsetLedger;
import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Consumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * At-least-once commits: the consumer commits the ledger's offsets, each with its offset map
 * in the metadata. Periodic commits are asynchronous (a failed one is retried by the next);
 * commits on revocation and at the end of a drain are synchronous.
 */
public final class ConsumerOffsetCommitter implements OffsetCommitter {
  private static final Logger log = LoggerFactory.getLogger(ConsumerOffsetCommitter.class);

  private final org.apache.kafka.clients.consumer.Consumer<?, ?> consumer;
  private final OffsetLedger ledger;

  public ConsumerOffsetCommitter(org.apache.kafka.clients.consumer.Consumer<?, ?> consumer,
      OffsetLedger ledger) {
    this.consumer = consumer;
    this.ledger = ledger;
  }

  @Override
  public void commit(boolean sync, Collection<TopicPartition> only, Consumer<Outcome> then) {
    Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>(ledger.committable());
    if (only != null) {
      offsets.keySet().retainAll(only);
    }
    if (offsets.isEmpty()) {
      then.accept(Outcome.COMMITTED);
      return;
    }
    if (!sync) {
      consumer.commitAsync(offsets, (committed, e) -> {
        if (e == null) {
          ledger.committed(committed);
        } else {
          log.warn("offset commit failed ({}); it is retried with the next one", e.toString());
        }
      });
      then.accept(Outcome.PENDING);
      return;
    }
    Outcome outcome;
    try {
      consumer.commitSync(offsets, Duration.ofSeconds(10));
      ledger.committed(offsets);
      log.info("committed {}", PollLoop.describe(offsets));
      outcome = Outcome.COMMITTED;
    } catch (RuntimeException e) {
      log.warn("offset commit failed ({}); those records will be read again", e.toString());
      outcome = Outcome.FAILED;
    }
    then.accept(outcome);
  }

  @Override
  public void discard(Consumer<Outcome> then) {
    then.accept(Outcome.FAILED);
  }
}
