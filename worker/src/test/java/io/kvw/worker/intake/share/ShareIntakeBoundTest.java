package io.kvw.worker.intake.share;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvw.worker.observe.WorkerMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/** What a share worker may acquire: a slice of its buffer per share consumer, whole batches only. */
class ShareIntakeBoundTest {

  private static ShareIntake intake(int maxBuffered, int batch, AtomicBoolean outage) {
    return new ShareIntake(List.of(), "requests", null,
        new ShareGroupSettings(Duration.ofSeconds(30), 5, true), maxBuffered, batch,
        Duration.ofSeconds(5), new WorkerMetrics(new SimpleMeterRegistry()), outage::get);
  }

  @Test
  void eachShareConsumerFetchesItsShareOfTheBuffer() {
    assertThat(ShareIntake.batchFor(64, 4)).isEqualTo(16);
    assertThat(ShareIntake.batchFor(1024, 4)).isEqualTo(256);
    assertThat(ShareIntake.batchFor(4096, 4)).as("at most the clients' default").isEqualTo(500);
    assertThat(ShareIntake.batchFor(4, 64)).isEqualTo(1);
  }

  @Test
  void aWorkerAcquiresWholeBatchesWithinItsBufferAndNothingDuringAnOutage() {
    AtomicBoolean outage = new AtomicBoolean();
    ShareIntake intake = intake(64, 16, outage);
    for (int i = 0; i < 4; i++) {
      assertThat(intake.reserve(16)).isEqualTo(16);
    }
    assertThat(intake.reserve(16)).as("64 open of worker.max-buffered 64").isZero();
    assertThat(intake.paused()).isTrue();
    intake.release(1);
    assertThat(intake.reserve(16)).as("room for one record is not room for a batch").isZero();
    intake.release(15);
    assertThat(intake.paused()).isFalse();
    outage.set(true);
    assertThat(intake.reserve(16)).isZero();
    assertThat(intake.paused()).isTrue();
    outage.set(false);
    assertThat(intake.reserve(16)).isEqualTo(16);
    assertThat(intake.open()).isEqualTo(64);
  }

  @Test
  void moreShareConsumersThanTheBufferHoldsIsRefused() {
    assertThatThrownBy(() -> new ShareIntake(List.of(new org.apache.kafka.clients.consumer
        .MockShareConsumer<byte[], byte[]>(), new org.apache.kafka.clients.consumer
        .MockShareConsumer<byte[], byte[]>()), "requests", null,
        new ShareGroupSettings(Duration.ofSeconds(30), 5, true), 16, 16, Duration.ofSeconds(5),
        new WorkerMetrics(new SimpleMeterRegistry()), () -> false))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("worker.max-buffered");
  }
}
