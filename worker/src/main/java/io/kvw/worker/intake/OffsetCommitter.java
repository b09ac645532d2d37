package io.kvw.worker.intake;

import java.util.Collection;
import java.util.function.Consumer;
import org.apache.kafka.common.TopicPartition;

/**
 * How the ledger's finished offsets (and their offset maps) become durable: a consumer offset
 * commit ({@link ConsumerOffsetCommitter}, at-least-once) or a producer transaction that also
 * carries the outcomes ({@code publish.TransactionCycle}, exactly-once). Called on the intake
 * thread only.
 */
public interface OffsetCommitter {

  /** What became of a commit. */
  enum Outcome {
    /** Durable. */
    COMMITTED,
    /** Sent; the result arrives later (an asynchronous consumer commit). */
    PENDING,
    /** Not committed; the records stay uncommitted and are read again after a restart. */
    FAILED,
    /**
     * A transaction was aborted: outcomes published since the last commit are gone, so their
     * records must be read again now (the caller rewinds the partitions).
     */
    ABORTED
  }

  /**
   * Commits what the ledger offers, for {@code only} those partitions (all when null; a
   * transaction always commits all, since it carries every partition's outcomes), then runs
   * {@code then} with the outcome on this thread. With transactions {@code then} runs before
   * any further outcome can be published, so records it gives back cannot slip into the next
   * transaction. {@code sync=false} lets a consumer commit finish in the background.
   */
  void commit(boolean sync, Collection<TopicPartition> only, Consumer<Outcome> then);

  /**
   * Drops what is not committed yet (partitions were lost, so their offsets can no longer be
   * committed): a transaction is aborted and {@code then} gets {@link Outcome#ABORTED}; a
   * consumer commit has nothing to drop and {@code then} gets {@link Outcome#FAILED}.
   */
  void discard(Consumer<Outcome> then);
}
