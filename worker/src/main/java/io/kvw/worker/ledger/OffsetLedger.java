package io.kvw.worker.ledger;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Tracks, per partition, which consumed records have reached their outcome, and computes what
 * may be committed: the highest contiguous completed offset + 1. Records finish out of order;
 * the commit never passes one that has not finished (DESIGN.md, promise 1).
 *
 * <p>Threading: {@link #track}, {@link #committable}, {@link #release} and the partition
 * queries are called by the intake thread only (it owns the consumer and so the partitions).
 * {@link OffsetTicket#complete()} may be called from any thread; it touches only the ticket and
 * the {@link #open()} counter.
 */
public final class OffsetLedger {

  /** Tickets of one partition in offset order, and the last position handed to a commit. */
  private static final class PartitionQueue {
    final ArrayDeque<OffsetTicket> pending = new ArrayDeque<>();
    long nextCommit = -1;
    long lastCommitted = -1;
  }

  private final Map<TopicPartition, PartitionQueue> partitions = new HashMap<>();
  private final AtomicInteger open = new AtomicInteger();
  private volatile Runnable onDone = () -> { };

  /** Called on whichever thread finishes a ticket; used to wake the intake thread. */
  public void onTicketDone(Runnable listener) {
    this.onDone = listener;
  }

  /** Starts tracking a consumed record. Offsets of one partition must come in rising order. */
  public OffsetTicket track(TopicPartition tp, long offset) {
    PartitionQueue q = partitions.computeIfAbsent(tp, k -> new PartitionQueue());
    OffsetTicket last = q.pending.peekLast();
    if (last != null && last.offset() >= offset || q.nextCommit > offset) {
      throw new IllegalStateException("offset " + offset + " of " + tp + " is not after "
          + (last != null ? last.offset() : q.nextCommit - 1));
    }
    OffsetTicket ticket = new OffsetTicket(tp, offset, this);
    q.pending.addLast(ticket);
    open.incrementAndGet();
    return ticket;
  }

  /** Records between poll and outcome, over all partitions: the memory bound's measure. */
  public int open() {
    return open.get();
  }

  /** Records of {@code tp} still without an outcome. */
  public int open(TopicPartition tp) {
    PartitionQueue q = partitions.get(tp);
    if (q == null) {
      return 0;
    }
    int n = 0;
    for (OffsetTicket t : q.pending) {
      if (!t.isCompleted() && !t.isAbandoned()) {
        n++;
      }
    }
    return n;
  }

  /** Open records of any of these partitions. */
  public int open(Collection<TopicPartition> tps) {
    int n = 0;
    for (TopicPartition tp : tps) {
      n += open(tp);
    }
    return n;
  }

  /**
   * Advances every partition over its completed prefix and returns the offsets to commit for
   * partitions that moved since the last call. An abandoned ticket stops the prefix for good:
   * its record must be read again.
   */
  public Map<TopicPartition, OffsetAndMetadata> committable() {
    Map<TopicPartition, OffsetAndMetadata> out = new HashMap<>();
    for (Map.Entry<TopicPartition, PartitionQueue> e : partitions.entrySet()) {
      PartitionQueue q = e.getValue();
      OffsetTicket head;
      while ((head = q.pending.peekFirst()) != null && head.isCompleted()) {
        q.pending.pollFirst();
        q.nextCommit = head.offset() + 1;
      }
      if (q.nextCommit >= 0 && q.nextCommit != q.lastCommitted) {
        out.put(e.getKey(), new OffsetAndMetadata(q.nextCommit));
      }
    }
    return out;
  }

  /** Notes that these offsets were committed, so they are not offered again. */
  public void committed(Map<TopicPartition, OffsetAndMetadata> offsets) {
    offsets.forEach((tp, om) -> {
      PartitionQueue q = partitions.get(tp);
      if (q != null) {
        q.lastCommitted = Math.max(q.lastCommitted, om.offset());
      }
    });
  }

  /**
   * Forgets partitions this worker no longer owns. Their unfinished tickets are abandoned, so
   * late outcomes neither count nor commit; returns the tickets that were abandoned.
   */
  public List<OffsetTicket> release(Collection<TopicPartition> tps) {
    List<OffsetTicket> abandoned = new ArrayList<>();
    for (TopicPartition tp : tps) {
      PartitionQueue q = partitions.remove(tp);
      if (q == null) {
        continue;
      }
      for (OffsetTicket t : q.pending) {
        if (t.abandon()) {
          abandoned.add(t);
        }
      }
    }
    return abandoned;
  }

  /** Abandons every open ticket (the end of a drain); partitions stay tracked for a commit. */
  public List<OffsetTicket> abandonAll() {
    List<OffsetTicket> abandoned = new ArrayList<>();
    for (PartitionQueue q : partitions.values()) {
      for (OffsetTicket t : q.pending) {
        if (t.abandon()) {
          abandoned.add(t);
        }
      }
    }
    return abandoned;
  }

  void onTicketDone() {
    open.decrementAndGet();
    onDone.run();
  }
}
