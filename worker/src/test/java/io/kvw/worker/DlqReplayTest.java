package io.kvw.worker;

import static org.assertj.core.api.Assertions.assertThat;

import io.kvw.common.DlqHeaders;
import io.kvw.worker.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code dlq replay} on the embedded broker: what it selects, what it sends, and not twice. */
class DlqReplayTest {
  // recent enough that the broker's retention (7 days) never deletes the records mid-test
  private static final long T0 = Instant.now().minus(java.time.Duration.ofHours(6))
      .truncatedTo(java.time.temporal.ChronoUnit.HOURS).toEpochMilli();
  private static final long HOUR = 3_600_000L;

  @TempDir
  Path dir;

  /** A dead letter as the worker writes it: original key and value, original + dlq headers. */
  private static ProducerRecord<byte[], byte[]> deadLetter(PipelineHarness h, int i,
      String type, long timestamp) {
    RecordHeaders headers = new RecordHeaders();
    headers.add("trace-id", ("trace-" + i).getBytes(StandardCharsets.UTF_8));
    headers.add(DlqHeaders.ERROR_TYPE, type.getBytes(StandardCharsets.UTF_8));
    headers.add(DlqHeaders.ERROR_MESSAGE, "failed".getBytes(StandardCharsets.UTF_8));
    headers.add(DlqHeaders.ATTEMPTS, "3".getBytes(StandardCharsets.UTF_8));
    headers.add(DlqHeaders.ORIGINAL_TOPIC, h.requests.getBytes(StandardCharsets.UTF_8));
    headers.add(DlqHeaders.ORIGINAL_PARTITION, "0".getBytes(StandardCharsets.UTF_8));
    headers.add(DlqHeaders.ORIGINAL_OFFSET, Integer.toString(i).getBytes(
        StandardCharsets.UTF_8));
    byte[] key = {(byte) 0xff, 0, (byte) i, 'k'}; // not UTF-8: must arrive as is
    byte[] value = ("{\"id\":\"dead-" + i + "\",\"prompt\":\"p " + i + "\"}  ")
        .getBytes(StandardCharsets.UTF_8);
    return new ProducerRecord<>(h.dlq, 0, timestamp, key, value, headers);
  }

  private static String[] run(Path config, String... args) {
    List<String> all = new ArrayList<>(List.of("dlq", "replay", "--config", config.toString()));
    all.addAll(List.of(args));
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    PrintStream old = System.out;
    int exit;
    try {
      System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
      exit = new CommandLine(new Main()).execute(all.toArray(String[]::new));
    } finally {
      System.setOut(old);
    }
    assertThat(exit).as(out.toString(StandardCharsets.UTF_8)).isZero();
    return out.toString(StandardCharsets.UTF_8).split("\n");
  }

  private static List<ConsumerRecord<byte[], byte[]>> requests(PipelineHarness h) {
    try (PipelineHarness.Reader reader = h.new Reader(h.requests)) {
      return reader.settle(Duration.ofSeconds(3)).on(h.requests);
    }
  }

  @Test
  void replaysExactlyTheSelectedRecordsIntactAndNeverTwice() throws Exception {
    PipelineHarness h = PipelineHarness.create("dlq-replay", 1);
    List<ProducerRecord<byte[], byte[]>> dead = new ArrayList<>();
    dead.add(deadLetter(h, 0, "retries_exhausted", T0));            // too old
    dead.add(deadLetter(h, 1, "invalid_request", T0 + 2 * HOUR));   // wrong type
    dead.add(deadLetter(h, 2, "retries_exhausted", T0 + 2 * HOUR));
    dead.add(deadLetter(h, 3, "retries_exhausted", T0 + 3 * HOUR));
    dead.add(deadLetter(h, 4, "retries_exhausted", T0 + 4 * HOUR)); // past the limit
    h.produce(dead);
    Path config = SubmitCommandTest.toolConfig(h, dir);
    String since = Instant.ofEpochMilli(T0 + HOUR).toString();

    String[] dry = run(config, "--type", "retries_exhausted", "--since", since, "--limit", "2",
        "--dry-run");
    assertThat(dry).hasSize(3);
    assertThat(dry[0]).startsWith("would replay " + h.dlq + "/0@2  retries_exhausted");
    assertThat(dry[1]).startsWith("would replay " + h.dlq + "/0@3  retries_exhausted");
    assertThat(dry[2]).contains("would replay 2 of 4").contains("nothing sent");
    assertThat(requests(h)).isEmpty();

    String[] real = run(config, "--type", "retries_exhausted", "--since", since, "--limit",
        "2");
    assertThat(real[real.length - 1]).contains("replayed 2 of 4");
    List<ConsumerRecord<byte[], byte[]>> sent = requests(h);
    assertThat(sent).hasSize(2);
    for (int k = 0; k < 2; k++) {
      ProducerRecord<byte[], byte[]> original = dead.get(2 + k);
      ConsumerRecord<byte[], byte[]> r = sent.get(k);
      assertThat(r.key()).isEqualTo(original.key());
      assertThat(r.value()).isEqualTo(original.value());
      assertThat(Arrays.stream(r.headers().toArray()).map(Header::key).toList())
          .containsExactly("trace-id");
      assertThat(r.headers().lastHeader("trace-id").value())
          .isEqualTo(("trace-" + (2 + k)).getBytes(StandardCharsets.UTF_8));
    }

    // the next run continues past what the last one looked at: only record 4 is left
    String[] again = run(config, "--type", "retries_exhausted");
    assertThat(again[again.length - 1]).contains("replayed 1 of 1");
    List<ConsumerRecord<byte[], byte[]>> after = requests(h);
    assertThat(after).hasSize(3);
    assertThat(after.get(2).value()).isEqualTo(dead.get(4).value());
    // and a run with nothing new sends nothing
    run(config);
    assertThat(requests(h)).hasSize(3);
  }
}
