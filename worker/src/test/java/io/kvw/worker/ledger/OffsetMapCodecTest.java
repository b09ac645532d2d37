package io.kvw.worker.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.BitSet;
import java.util.Random;
import org.junit.jupiter.api.Test;

class OffsetMapCodecTest {
  private final OffsetMapCodec codec = new OffsetMapCodec(4096);

  private static BitSet bits(int... set) {
    BitSet b = new BitSet();
    for (int i : set) {
      b.set(i);
    }
    return b;
  }

  @Test
  void aMapRoundTripsWithItsBase() {
    BitSet finished = bits(1, 2, 3, 7, 100, 101);
    String metadata = codec.encode(1_000_000_007L, finished);
    assertThat(metadata).startsWith("kvw1");
    OffsetMapCodec.OffsetMap map = codec.decode(1_000_000_007L, metadata);
    assertThat(map.finished()).isEqualTo(finished);
    assertThat(map.isFinished(1_000_000_010L)).isTrue();
    assertThat(map.isFinished(1_000_000_011L)).isFalse();
    assertThat(map.isFinished(1_000_000_006L)).isFalse();
  }

  @Test
  void nothingFinishedIsAnEmptyString() {
    assertThat(codec.encode(5, new BitSet())).isEmpty();
    assertThat(codec.decode(5, "")).isNull();
  }

  @Test
  void aMapWrittenForAnotherOffsetOrByAnotherToolIsIgnored() {
    String metadata = codec.encode(40, bits(1, 2));
    assertThat(codec.decode(41, metadata)).isNull();
    assertThat(codec.decode(40, "written by kafka-consumer-groups")).isNull();
    assertThat(codec.decode(40, "kvw1b!!not base64!!")).isNull();
    assertThat(codec.decode(40, "kvw1x" + metadata.substring(5))).isNull();
  }

  @Test
  void longRunsChooseRunLengthsAndScatteredGapsChooseTheBitmap() {
    BitSet longRun = new BitSet();
    longRun.set(1, 20_000); // everything finished but the first: a few bytes of run lengths
    String runs = codec.encode(0, longRun);
    assertThat(runs).startsWith("kvw1r").hasSizeLessThan(20);
    BitSet alternating = new BitSet();
    for (int i = 1; i < 2_000; i += 2) {
      alternating.set(i); // every other one: a bitmap is a quarter of the run lengths
    }
    String bitmap = codec.encode(0, alternating);
    assertThat(bitmap).startsWith("kvw1b");
    assertThat(codec.decode(0, runs).finished()).isEqualTo(longRun);
    assertThat(codec.decode(0, bitmap).finished()).isEqualTo(alternating);
  }

  @Test
  void randomGapsRoundTripWithinTheBound() {
    Random random = new Random(7);
    for (int round = 0; round < 500; round++) {
      int range = 1 + random.nextInt(20_000);
      double density = random.nextDouble();
      BitSet finished = new BitSet();
      for (int i = 1; i < range; i++) {
        if (random.nextDouble() < density) {
          finished.set(i);
        }
      }
      long base = random.nextLong() & Long.MAX_VALUE;
      String metadata = codec.encode(base, finished);
      assertThat(metadata.length()).isLessThanOrEqualTo(4096);
      if (finished.isEmpty()) {
        assertThat(metadata).isEmpty();
        continue;
      }
      BitSet back = codec.decode(base, metadata).finished();
      // whatever the map keeps is exactly what was finished: nothing unfinished is ever skipped
      assertThat(finished.get(0, Math.max(back.length(), 1))).isEqualTo(back);
      if (range <= 4096 * 5) {
        assertThat(back).isEqualTo(finished); // fits in full up to here (4 KiB of base64 bits)
      }
    }
  }

  @Test
  void aMapThatDoesNotFitIsCutToItsLowestOffsetsAndStaysWithinTheBound() {
    OffsetMapCodec small = new OffsetMapCodec(64);
    Random random = new Random(11);
    BitSet finished = new BitSet();
    for (int i = 1; i < 5_000; i++) {
      if (random.nextBoolean()) {
        finished.set(i);
      }
    }
    String metadata = small.encode(123_456, finished);
    assertThat(metadata.length()).isLessThanOrEqualTo(64);
    BitSet kept = small.decode(123_456, metadata).finished();
    assertThat(kept.cardinality()).isPositive();
    assertThat(kept.length()).isLessThan(finished.length());
    assertThat(kept).isEqualTo(finished.get(0, kept.length()));
    // a longer prefix would not have fitted: the cut keeps as much as the bound allows
    assertThat(kept.length()).isGreaterThan(64 * 6 * 3 / 4 - 64);
  }

  @Test
  void aZeroBoundStoresNoMap() {
    assertThat(new OffsetMapCodec(0).encode(3, bits(1, 2))).isEmpty();
  }
}
