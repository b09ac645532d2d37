package io.kvw.worker.intake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class FlowControlTest {

  @Test
  void aPollIsAllowedOnlyIfItCannotOverfillTheBuffer() {
    FlowControl flow = new FlowControl(1024, 256);
    assertThat(flow.mayPoll(768, false)).isTrue();  // 768 + 256 = 1024: fits exactly
    assertThat(flow.mayPoll(769, false)).isFalse(); // could reach 1025
  }

  @Test
  void afterPausingItResumesOnlyAtTheLowWatermark() {
    FlowControl flow = new FlowControl(1024, 256);
    assertThat(flow.mayPoll(700, true)).isFalse(); // no flapping just under the pause point
    assertThat(flow.mayPoll(513, true)).isFalse();
    assertThat(flow.mayPoll(512, true)).isTrue();
  }

  @Test
  void theDefaultPollSizeLeavesRoomToResume() {
    assertThat(FlowControl.defaultMaxPollRecords(1024)).isEqualTo(256);
    assertThat(FlowControl.defaultMaxPollRecords(100_000)).isEqualTo(500);
    assertThat(FlowControl.defaultMaxPollRecords(1)).isEqualTo(1);
    FlowControl tiny = new FlowControl(1, 1);
    assertThat(tiny.mayPoll(0, false)).isTrue();
    assertThat(tiny.mayPoll(1, false)).isFalse();
    assertThat(tiny.mayPoll(0, true)).isTrue();
  }

  @Test
  void aPollLargerThanTheBufferIsRefused() {
    assertThatThrownBy(() -> new FlowControl(100, 500))
        .hasMessageContaining("worker.max-buffered");
  }
}
