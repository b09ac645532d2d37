package io.kvw.worker.backend.vllm;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.ManagedChannel;
import io.grpc.ManagedChannelBuilder;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The pool's bookkeeping as replicas join and leave (channels are lazy: nothing connects). */
class TargetPoolTest {

  private static List<ManagedChannel> channels(String address) {
    return List.of(ManagedChannelBuilder.forTarget(address).usePlaintext().build());
  }

  private static TargetPool pool(String first) {
    return new TargetPool(Map.of(first, channels(first)), TargetPoolTest::channels, 5,
        Duration.ofSeconds(2));
  }

  @Test
  void joinedAddressesGetTargetsAndLeftOnesAreRetiredNotAcquired() {
    try (TargetPool pool = pool("127.0.0.1:1")) {
      assertThat(pool.update(List.of("127.0.0.1:1", "127.0.0.1:2"))).isEmpty();
      assertThat(pool.addresses()).containsExactly("127.0.0.1:1", "127.0.0.1:2");
      TargetPool.Target first = pool.all().get(0);

      List<TargetPool.Target> left = pool.update(List.of("127.0.0.1:2", "127.0.0.1:3"));
      assertThat(left).containsExactly(first);
      assertThat(pool.addresses()).containsExactly("127.0.0.1:2", "127.0.0.1:3");
      Set<String> acquired = new HashSet<>();
      for (int i = 0; i < 10; i++) {
        acquired.add(pool.acquire().address);
      }
      assertThat(acquired).containsExactlyInAnyOrder("127.0.0.1:2", "127.0.0.1:3");

      assertThat(first.channels.get(0).isShutdown()).isFalse();
      pool.retire(left);
      assertThat(first.channels.get(0).isShutdown()).isTrue();
    }
  }

  @Test
  void anEmptyAnswerOrTheSameAnswerChangesNothing() {
    try (TargetPool pool = pool("127.0.0.1:1")) {
      TargetPool.Target only = pool.all().get(0);
      assertThat(pool.update(List.of())).isEmpty();
      assertThat(pool.update(List.of("127.0.0.1:1"))).isEmpty();
      assertThat(pool.all()).containsExactly(only);
    }
  }

  @Test
  void closingThePoolClosesEveryChannelAndStopsWhatFeedsIt() {
    TargetPool pool = pool("127.0.0.1:1");
    ManagedChannel leftButNotYetRetired = pool.all().get(0).channels.get(0);
    pool.update(List.of("127.0.0.1:2"));
    boolean[] stopped = {false};
    pool.closeFirst(() -> stopped[0] = true);
    List<ManagedChannel> all = List.of(leftButNotYetRetired, pool.all().get(0).channels.get(0));
    pool.close();
    assertThat(stopped[0]).isTrue();
    assertThat(all).allSatisfy(c -> assertThat(c.isShutdown()).isTrue());
  }
}
