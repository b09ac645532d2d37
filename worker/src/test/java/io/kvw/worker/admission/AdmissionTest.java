package io.kvw.worker.admission;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvw.common.RequestCodec;
import io.kvw.common.RequestLimits;
import io.kvw.worker.backend.Prompt;
import io.kvw.worker.backend.PromptPreparer;
import io.kvw.worker.intake.PolledRecord;
import io.kvw.worker.ledger.OffsetLedger;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

/** Where admission prepares a prompt: on the intake thread, or on the preparation pool. */
class AdmissionTest {
  private final OffsetLedger ledger = new OffsetLedger();
  /** The pool, held back: a task lands here and runs only when the test says so. */
  private final List<Runnable> pool = new ArrayList<>();
  private final AtomicReference<String> preparedOn = new AtomicReference<>();
  private final PromptPreparer preparer = request -> {
    preparedOn.set(Thread.currentThread().getName());
    return new Prompt(request.prompt(), new int[] {1, 2, 3});
  };
  private final Admission admission = new Admission(new RequestCodec(RequestLimits.defaults()),
      "m", preparer, pool::add, Clock.systemUTC());
  private long offset;

  private PolledRecord polled(String prompt) {
    String json = "{\"id\":\"r" + offset + "\",\"prompt\":\"" + prompt + "\"}";
    ConsumerRecord<byte[], byte[]> record = new ConsumerRecord<>("requests", 0, offset, null,
        json.getBytes(StandardCharsets.UTF_8));
    return new PolledRecord(record, ledger.track(new TopicPartition("requests", 0), offset++),
        System.nanoTime());
  }

  @Test
  void aSmallRecordAloneInItsPollIsPreparedOnTheIntakeThread() {
    List<Admission.Verdict> verdicts = new ArrayList<>();
    admission.admit(polled("hello"), 1, verdicts::add);

    assertThat(pool).isEmpty();
    assertThat(preparedOn.get()).isEqualTo(Thread.currentThread().getName());
    assertThat(verdicts).singleElement().isInstanceOfSatisfying(Admission.Admitted.class,
        a -> assertThat(a.prompt().ids()).containsExactly(1, 2, 3));
  }

  @Test
  void recordsOfALargerPollGoToThePool() {
    List<Admission.Verdict> verdicts = new ArrayList<>();
    admission.admit(polled("one"), 2, verdicts::add);
    admission.admit(polled("two"), 2, verdicts::add);

    assertThat(verdicts).as("nothing prepared before the pool runs").isEmpty();
    assertThat(pool).hasSize(2);
    pool.forEach(Runnable::run);
    assertThat(verdicts).hasSize(2).allMatch(v -> v instanceof Admission.Admitted);
  }

  @Test
  void aLargeRecordGoesToThePoolEvenAlone() {
    List<Admission.Verdict> verdicts = new ArrayList<>();
    admission.admit(polled("x".repeat(Admission.PREPARE_INLINE_MAX_BYTES)), 1, verdicts::add);

    assertThat(verdicts).isEmpty();
    assertThat(pool).hasSize(1);
    pool.get(0).run();
    assertThat(verdicts).singleElement().isInstanceOf(Admission.Admitted.class);
  }

  @Test
  void withoutAPollSizeEveryRecordGoesToThePool() {
    List<Admission.Verdict> verdicts = new ArrayList<>();
    admission.admit(polled("hello"), verdicts::add);

    assertThat(pool).hasSize(1);
    assertThat(verdicts).isEmpty();
  }

  @Test
  void aRefusalComesAtOnceWhateverThePoll() {
    List<Admission.Verdict> verdicts = new ArrayList<>();
    ConsumerRecord<byte[], byte[]> record = new ConsumerRecord<>("requests", 0, offset, null,
        "not json".getBytes(StandardCharsets.UTF_8));
    admission.admit(new PolledRecord(record, ledger.track(new TopicPartition("requests", 0),
        offset++), System.nanoTime()), 50, verdicts::add);

    assertThat(pool).isEmpty();
    assertThat(verdicts).singleElement().isInstanceOf(Admission.Refused.class);
  }
}
