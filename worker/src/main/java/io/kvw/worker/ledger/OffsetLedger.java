package io.kvw.worker.ledger;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Tracks, per partition, which consumed records have reached their outcome, and computes what
 * may be committed: the highest contiguous completed offset + 1, plus an offset map (see
 * {@link OffsetMapCodec}) of the records already finished above it. Records finish out of
 * order; the commit never passes one that has not finished (DESIGN.md, promise 1), and the map
 * lets the next owner of a partition skip what is finished instead of running it again.
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
    long firstTracked = -1;
    long lastTracked = -1;
    long lastCommitted = -1;
    String lastMetadata = "";
    /** What the last commit said was finished above it, for offsets not tracked again yet. */
    OffsetMapCodec.OffsetMap resumed;
  }

  /** What a rewind did: the tickets it abandoned and where each partition reads again. */
  public record Rewind(List<OffsetTicket> abandoned, Map<TopicPartition, Long> seekTo) {}

  private final Map<TopicPartition, PartitionQueue> partitions = new HashMap<>();
  private final AtomicInteger open = new AtomicInteger();
  private final OffsetMapCodec codec;
  private final int maxMapOffsets;
  private volatile Runnable onDone = () -> { };

  /** A ledger whose maps fit Kafka's default {@code offset.metadata.max.bytes} (4 KiB). */
  public OffsetLedger() {
    this(new OffsetMapCodec(4096), 4096);
  }

  /** {@code maxMapChars}: the codec's bound, used to stop collecting offsets it would cut. */
  public OffsetLedger(OffsetMapCodec codec, int maxMapChars) {
    this.codec = codec;
    this.maxMapOffsets = maxMapChars * 6; // base64: 6 bits per character at best
  }

  /** Called on whichever thread finishes a ticket; used to wake the intake thread. */
  public void onTicketDone(Runnable listener) {
    this.onDone = listener;
  }

  /**
   * Starts a newly assigned partition from its committed offset and metadata: the offsets its
   * map says are finished are skipped by {@link #skipIfFinished}.
   */
  public void resume(TopicPartition tp, long committedOffset, String metadata) {
    PartitionQueue q = new PartitionQueue();
    q.lastCommitted = committedOffset;
    q.lastMetadata = metadata == null ? "" : metadata;
    q.resumed = codec.decode(committedOffset, q.lastMetadata);
    partitions.put(tp, q);
  }

  /** Records of {@code tp} the last commit's map marks as finished (0 when it has none). */
  public int finishedInMap(TopicPartition tp) {
    PartitionQueue q = partitions.get(tp);
    return q == null || q.resumed == null ? 0 : q.resumed.finished().cardinality();
  }

  /** Starts tracking a consumed record. Offsets of one partition must come in rising order. */
  public OffsetTicket track(TopicPartition tp, long offset) {
    return add(tp, offset, false);
  }

  /**
   * If the last commit's map says this record was finished, tracks it as done (so later commits
   * pass over it) and returns true: its outcome is already published, it must not run again.
   */
  public boolean skipIfFinished(TopicPartition tp, long offset) {
    PartitionQueue q = partitions.get(tp);
    if (q == null || q.resumed == null || !q.resumed.isFinished(offset)) {
      return false;
    }
    add(tp, offset, true);
    return true;
  }

  private OffsetTicket add(TopicPartition tp, long offset, boolean finished) {
    PartitionQueue q = partitions.computeIfAbsent(tp, k -> new PartitionQueue());
    OffsetTicket last = q.pending.peekLast();
    if (last != null && last.offset() >= offset || q.nextCommit > offset) {
      throw new IllegalStateException("offset " + offset + " of " + tp + " is not after "
          + (last != null ? last.offset() : q.nextCommit - 1));
    }
    OffsetTicket ticket = new OffsetTicket(tp, offset, this, finished);
    q.pending.addLast(ticket);
    if (q.firstTracked < 0) {
      q.firstTracked = offset;
    }
    q.lastTracked = offset;
    if (!finished) {
      open.incrementAndGet();
    }
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
   * Advances every partition over its completed prefix and returns the offsets to commit, each
   * with its offset map, for partitions whose position or map changed since the last commit.
   * An abandoned ticket stops the prefix for good: its record must be read again.
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
      long base = q.nextCommit >= 0 ? q.nextCommit
          : head != null ? head.offset() : q.lastCommitted;
      if (base < 0) {
        continue;
      }
      String metadata = codec.encode(base, finishedAbove(q, base));
      if (q.nextCommit < 0 && metadata.isEmpty()) {
        continue; // nothing finished yet: no reason to commit
      }
      if (base != q.lastCommitted || !metadata.equals(q.lastMetadata)) {
        out.put(e.getKey(), new OffsetAndMetadata(base, metadata));
      }
    }
    return out;
  }

  /** Completed tickets above {@code base}, and what the last map said about the rest. */
  private BitSet finishedAbove(PartitionQueue q, long base) {
    BitSet finished = new BitSet();
    for (OffsetTicket t : q.pending) {
      long i = t.offset() - base;
      if (i >= maxMapOffsets) {
        break;
      }
      if (t.isCompleted()) {
        finished.set((int) i);
      }
    }
    OffsetMapCodec.OffsetMap resumed = q.resumed;
    if (resumed != null) {
      long from = Math.max(q.lastTracked + 1, base);
      int bit = resumed.finished().nextSetBit((int) Math.max(0, from - resumed.base()));
      if (bit < 0) {
        q.resumed = null; // every offset of the old map has been read again
      }
      for (; bit >= 0; bit = resumed.finished().nextSetBit(bit + 1)) {
        long i = resumed.base() + bit - base;
        if (i >= maxMapOffsets) {
          break;
        }
        finished.set((int) i);
      }
    }
    return finished;
  }

  /** Notes that these offsets (and maps) were committed, so they are not offered again. */
  public void committed(Map<TopicPartition, OffsetAndMetadata> offsets) {
    offsets.forEach((tp, om) -> {
      PartitionQueue q = partitions.get(tp);
      if (q != null && om.offset() >= q.lastCommitted) {
        q.lastCommitted = om.offset();
        q.lastMetadata = om.metadata();
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

  /**
   * Goes back to the last commit for these partitions (a transaction that carried their
   * outcomes was aborted): abandons their tickets and returns where each must be read again,
   * with the last commit's map in force so what it recorded as finished is still skipped.
   */
  public Rewind rewind(Collection<TopicPartition> tps) {
    List<OffsetTicket> abandoned = new ArrayList<>();
    Map<TopicPartition, Long> seekTo = new HashMap<>();
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
      long from = q.lastCommitted >= 0 ? q.lastCommitted : q.firstTracked;
      if (from >= 0) {
        seekTo.put(tp, from);
        if (q.lastCommitted >= 0) {
          resume(tp, q.lastCommitted, q.lastMetadata);
        }
      }
    }
    return new Rewind(abandoned, seekTo);
  }

  void onTicketDone() {
    open.decrementAndGet();
    onDone.run();
  }
}
