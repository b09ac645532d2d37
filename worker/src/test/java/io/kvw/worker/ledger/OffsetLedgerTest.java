package io.kvw.worker.ledger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class OffsetLedgerTest {
  private static final TopicPartition P0 = new TopicPartition("requests", 0);
  private static final TopicPartition P1 = new TopicPartition("requests", 1);

  private final OffsetLedger ledger = new OffsetLedger();

  private static long offsetOf(Map<TopicPartition, OffsetAndMetadata> m, TopicPartition tp) {
    return m.get(tp).offset();
  }

  @Test
  void nothingIsCommittableUntilTheFirstRecordFinishes() {
    OffsetTicket a = ledger.track(P0, 10);
    ledger.track(P0, 11);
    assertThat(ledger.committable()).isEmpty();
    a.complete();
    assertThat(offsetOf(ledger.committable(), P0)).isEqualTo(11);
  }

  @Test
  void offsetsNeverPassAnUnfinishedRecord() {
    OffsetTicket a = ledger.track(P0, 0);
    OffsetTicket b = ledger.track(P0, 1);
    OffsetTicket c = ledger.track(P0, 2);
    c.complete();
    b.complete();
    // the position stays at the unfinished record; the finished ones travel in its map
    OffsetAndMetadata early = ledger.committable().get(P0);
    assertThat(early.offset()).isZero();
    assertThat(new OffsetMapCodec(4096).decode(0, early.metadata()).finished())
        .isEqualTo(java.util.BitSet.valueOf(new long[] {0b110}));
    a.complete();
    Map<TopicPartition, OffsetAndMetadata> last = ledger.committable();
    assertThat(offsetOf(last, P0)).isEqualTo(3);
    ledger.committed(last);
    assertThat(ledger.committable()).isEmpty(); // nothing changed since
  }

  @Test
  void aNewOwnerSkipsWhatTheMapMarksFinishedAndKeepsItInItsOwnMaps() {
    for (long o = 10; o < 20; o++) {
      OffsetTicket t = ledger.track(P0, o);
      if (o % 3 == 0) {
        t.complete(); // 12, 15, 18
      }
    }
    OffsetAndMetadata commit = ledger.committable().get(P0);
    assertThat(commit.offset()).isEqualTo(10);

    OffsetLedger next = new OffsetLedger(); // the partition's next owner
    next.resume(P0, commit.offset(), commit.metadata());
    assertThat(next.finishedInMap(P0)).isEqualTo(3);
    List<Long> run = new ArrayList<>();
    List<OffsetTicket> tickets = new ArrayList<>();
    for (long o = 10; o < 14; o++) { // it has read up to 13 so far
      if (!next.skipIfFinished(P0, o)) {
        run.add(o);
        tickets.add(next.track(P0, o));
      }
    }
    assertThat(run).containsExactly(10L, 11L, 13L);
    assertThat(next.open()).isEqualTo(3);
    // once 10 is done, the commit at 11 still carries 15 and 18, which it has not read yet
    tickets.get(0).complete();
    OffsetAndMetadata again = next.committable().get(P0);
    assertThat(again.offset()).isEqualTo(11);
    assertThat(new OffsetMapCodec(4096).decode(11, again.metadata()).finished())
        .isEqualTo(java.util.BitSet.valueOf(new long[] {0b10010010})); // 12, 15, 18
    tickets.forEach(OffsetTicket::complete);
    assertThat(next.committable().get(P0).offset()).isEqualTo(14);
  }

  @Test
  void aRewindGoesBackToTheLastCommitAndGivesBackWhatIsOpen() {
    OffsetTicket a = ledger.track(P0, 0);
    OffsetTicket b = ledger.track(P0, 1);
    a.complete();
    ledger.committed(ledger.committable()); // position 1
    OffsetTicket c = ledger.track(P0, 2);
    OffsetTicket d = ledger.track(P0, 3);
    d.complete(); // finished, but its transaction is then aborted
    OffsetLedger.Rewind r = ledger.rewind(List.of(P0));
    assertThat(r.seekTo()).containsEntry(P0, 1L);
    assertThat(r.abandoned()).containsExactly(b, c);
    assertThat(ledger.open()).isZero();
    assertThat(ledger.skipIfFinished(P0, 3)).isFalse(); // not committed: it runs again
  }

  @Test
  void outOfOrderCompletionAdvancesOnlyTheContiguousPrefix() {
    List<OffsetTicket> t = new ArrayList<>();
    for (long o = 100; o < 110; o++) {
      t.add(ledger.track(P0, o));
    }
    t.get(0).complete();
    t.get(1).complete();
    t.get(3).complete();
    assertThat(offsetOf(ledger.committable(), P0)).isEqualTo(102);
    t.get(2).complete();
    assertThat(offsetOf(ledger.committable(), P0)).isEqualTo(104);
    assertThat(ledger.open()).isEqualTo(6);
  }

  @Test
  void gapsInOffsetsDoNotHoldTheCommitBack() {
    // compacted topics and transaction markers leave holes in the offsets a consumer sees
    OffsetTicket a = ledger.track(P0, 5);
    OffsetTicket b = ledger.track(P0, 9);
    a.complete();
    b.complete();
    assertThat(offsetOf(ledger.committable(), P0)).isEqualTo(10);
  }

  @Test
  void partitionsAreIndependent() {
    OffsetTicket p0 = ledger.track(P0, 0);
    ledger.track(P1, 0);
    p0.complete();
    Map<TopicPartition, OffsetAndMetadata> c = ledger.committable();
    assertThat(c).containsOnlyKeys(P0);
    assertThat(ledger.open(P1)).isEqualTo(1);
    assertThat(ledger.open(P0)).isZero();
  }

  @Test
  void aCommittedOffsetIsNotOfferedAgain() {
    ledger.track(P0, 0).complete();
    Map<TopicPartition, OffsetAndMetadata> c = ledger.committable();
    ledger.committed(c);
    assertThat(ledger.committable()).isEmpty();
    ledger.track(P0, 1).complete();
    assertThat(offsetOf(ledger.committable(), P0)).isEqualTo(2);
  }

  @Test
  void anUnacknowledgedCommitIsOfferedAgain() {
    ledger.track(P0, 0).complete();
    assertThat(ledger.committable()).isNotEmpty();
    // commitAsync failed: committed() was never called
    assertThat(offsetOf(ledger.committable(), P0)).isEqualTo(1);
  }

  @Test
  void revocationAbandonsUnfinishedRecordsSoLateOutcomesNeverCommit() {
    OffsetTicket a = ledger.track(P0, 0);
    OffsetTicket b = ledger.track(P0, 1);
    a.complete();
    Map<TopicPartition, OffsetAndMetadata> beforeRelease = ledger.committable();
    assertThat(offsetOf(beforeRelease, P0)).isEqualTo(1);

    List<OffsetTicket> abandoned = ledger.release(List.of(P0));
    assertThat(abandoned).containsExactly(b);
    assertThat(b.isAbandoned()).isTrue();
    assertThat(ledger.open()).isZero();

    b.complete(); // the outcome arrives after the partition left
    assertThat(b.isCompleted()).isFalse();
    assertThat(ledger.committable()).isEmpty();
    assertThat(ledger.open()).isZero();
  }

  @Test
  void aReassignedPartitionStartsAfresh() {
    ledger.track(P0, 0);
    ledger.release(List.of(P0));
    OffsetTicket again = ledger.track(P0, 0); // redelivered to us after the rebalance
    again.complete();
    assertThat(offsetOf(ledger.committable(), P0)).isEqualTo(1);
  }

  @Test
  void offsetsMustRise() {
    ledger.track(P0, 5);
    assertThatThrownBy(() -> ledger.track(P0, 5)).isInstanceOf(IllegalStateException.class);
  }

  @Test
  void completingTwiceCountsOnce() {
    OffsetTicket a = ledger.track(P0, 0);
    ledger.track(P0, 1);
    a.complete();
    a.complete();
    assertThat(ledger.open()).isEqualTo(1);
  }

  @Test
  void concurrentCompletionsInRandomOrderCommitEverything() throws Exception {
    int n = 20_000;
    List<OffsetTicket> tickets = new ArrayList<>();
    for (long o = 0; o < n; o++) {
      tickets.add(ledger.track(o % 2 == 0 ? P0 : P1, o));
    }
    Collections.shuffle(tickets, new Random(42));
    ExecutorService pool = Executors.newFixedThreadPool(4);
    for (OffsetTicket t : tickets) {
      pool.execute(t::complete);
    }
    long highestSeen = -1;
    pool.shutdown();
    while (!pool.awaitTermination(1, TimeUnit.MILLISECONDS)) {
      // commits computed while completions race must never pass an unfinished ticket
      Map<TopicPartition, OffsetAndMetadata> c = ledger.committable();
      if (c.containsKey(P0)) {
        long next = c.get(P0).offset();
        assertThat(next).isGreaterThanOrEqualTo(highestSeen);
        highestSeen = next;
        for (OffsetTicket t : tickets) {
          if (t.partition().equals(P0) && t.offset() < next) {
            assertThat(t.isCompleted()).isTrue();
          }
        }
      }
    }
    Map<TopicPartition, OffsetAndMetadata> end = ledger.committable();
    assertThat(offsetOf(end, P0)).isEqualTo(n - 1); // last even offset is n-2
    assertThat(offsetOf(end, P1)).isEqualTo(n);
    assertThat(ledger.open()).isZero();
  }
}
