package io.kvw.worker.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkerConfigTest {
  @TempDir
  Path dir;

  private Path file(String content) throws IOException {
    Path f = dir.resolve("worker.properties");
    Files.writeString(f, content);
    return f;
  }

  @Test
  void defaultsMatchTheContract() {
    WorkerConfig c = WorkerConfig.of(Map.of());
    assertThat(c.get(WorkerConfig.KAFKA_BOOTSTRAP)).isEqualTo("localhost:9092");
    assertThat(c.get(WorkerConfig.KAFKA_GROUP)).isEqualTo("inference-workers");
    assertThat(c.get(WorkerConfig.KAFKA_OFFSET_RESET)).isEqualTo("earliest");
    assertThat(c.get(WorkerConfig.TOPIC_REQUESTS)).isEqualTo("inference.requests");
    assertThat(c.get(WorkerConfig.TOPIC_RESULTS)).isEqualTo("inference.results");
    assertThat(c.get(WorkerConfig.TOPIC_DLQ)).isEqualTo("inference.requests.dlq");
    assertThat(c.get(WorkerConfig.TOPIC_STREAM)).isEqualTo("inference.results.stream");
    assertThat(c.get(WorkerConfig.VLLM_TARGET)).containsExactly("localhost:50051");
    // the cap is far above vLLM's 256 default slots, so the adaptive limit can hold a queue
    assertThat(c.get(WorkerConfig.MAX_IN_FLIGHT)).isEqualTo(1024);
    assertThat(c.get(WorkerConfig.MAX_BUFFERED)).isEqualTo(1024);
    assertThat(c.get(WorkerConfig.HTTP_PORT)).isEqualTo(8080);
  }

  @Test
  void maxBufferedFollowsMaxInFlightUnlessSet() {
    assertThat(WorkerConfig.of(Map.of("worker.max-in-flight", "10")).get(
        WorkerConfig.MAX_BUFFERED)).isEqualTo(40);
    assertThat(WorkerConfig.of(Map.of("worker.max-in-flight", "10", "worker.max-buffered",
        "15")).get(WorkerConfig.MAX_BUFFERED)).isEqualTo(15);
  }

  @Test
  void aSmallerBufferLowersTheDefaultCapInsteadOfFailing() {
    WorkerConfig c = WorkerConfig.of(Map.of("worker.max-buffered", "300"));
    assertThat(c.get(WorkerConfig.MAX_IN_FLIGHT)).isEqualTo(300);
    assertThat(c.get(WorkerConfig.MAX_BUFFERED)).isEqualTo(300);
    assertThatThrownBy(() -> WorkerConfig.of(Map.of("worker.max-buffered", "300",
        "worker.max-in-flight", "400"))).isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("worker.max-buffered:");
  }

  @Test
  void theShareIntakeIsChosenByNameAndRefusesWhatItCannotDo() {
    assertThat(WorkerConfig.of(Map.of()).get(WorkerConfig.INTAKE))
        .isEqualTo(WorkerConfig.IntakeMode.CONSUMER);
    assertThat(WorkerConfig.of(Map.of("worker.intake", "share")).get(WorkerConfig.INTAKE))
        .isEqualTo(WorkerConfig.IntakeMode.SHARE);
    assertThatThrownBy(() -> WorkerConfig.of(Map.of("worker.intake", "queue")))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("worker.intake:");
    assertThatThrownBy(() -> WorkerConfig.of(Map.of("worker.intake", "share",
        "worker.delivery", "exactly-once"))).isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("worker.delivery:").hasMessageContaining("worker.intake");
    assertThatThrownBy(() -> WorkerConfig.of(Map.of("worker.max-in-flight", "2",
        "worker.max-buffered", "3", "worker.share.consumers", "4")))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("worker.share.consumers:");
  }

  @Test
  void theEnvironmentOverridesTheFile() throws IOException {
    Path f = file("worker.max-in-flight=8\nvllm.target=a:1,b:2\n");
    WorkerConfig c = WorkerConfig.load(f, Map.of("KVW_WORKER_MAX_IN_FLIGHT", "16",
        "KVW_KAFKA_SECURITY_PROTOCOL", "SASL_SSL", "HOME", "/root"));
    assertThat(c.get(WorkerConfig.MAX_IN_FLIGHT)).isEqualTo(16);
    assertThat(c.get(WorkerConfig.VLLM_TARGET)).containsExactly("a:1", "b:2");
    assertThat(c.kafkaPassThrough()).containsEntry("security.protocol", "SASL_SSL");
  }

  @Test
  void aDnsTargetIsOneNameWithAPort() {
    assertThat(WorkerConfig.of(Map.of("vllm.target", "dns:///vllm-headless.ns.svc:50051"))
        .get(WorkerConfig.VLLM_TARGET)).containsExactly("dns:///vllm-headless.ns.svc:50051");
    assertThatThrownBy(() -> WorkerConfig.of(Map.of("vllm.target",
        "dns:///vllm-headless.ns.svc:50051,other:50051")))
        .hasMessageStartingWith("vllm.target: a dns:/// target must be the only one");
    assertThatThrownBy(() -> WorkerConfig.of(Map.of("vllm.target", "dns:///vllm-headless")))
        .hasMessageStartingWith("vllm.target: each entry must be host:port");
    assertThatThrownBy(() -> WorkerConfig.of(Map.of("vllm.target", "http://vllm:50051")))
        .hasMessageStartingWith("vllm.target: the only scheme is dns:///");
  }

  @Test
  void everyDeclaredKeyHasAnEnvironmentName() {
    for (ConfigKey<?> k : WorkerConfig.KEYS) {
      String env = WorkerConfig.envName(k.name());
      assertThat(WorkerConfig.fromEnvironment(Map.of(env, k.defaultText() == null ? "1"
          : k.defaultText()))).containsOnlyKeys(k.name());
    }
  }

  @Test
  void unknownKeysAreNamed() throws IOException {
    assertThatThrownBy(() -> WorkerConfig.load(file("worker.max-inflight=3\n"), Map.of()))
        .isInstanceOf(ConfigException.class).hasMessageStartingWith("worker.max-inflight:");
    assertThatThrownBy(() -> WorkerConfig.load(file(""), Map.of("KVW_WORKER_TYPO", "1")))
        .hasMessageStartingWith("KVW_WORKER_TYPO:");
  }

  @Test
  void outOfRangeValuesAreNamedWithTheAllowedRange() {
    assertThatThrownBy(() -> WorkerConfig.of(Map.of("worker.max-in-flight", "0")))
        .isInstanceOf(ConfigException.class)
        .hasMessage("worker.max-in-flight: must be from 1 to 100000 (got '0')");
    assertThatThrownBy(() -> WorkerConfig.of(Map.of("vllm.target", "nohost")))
        .hasMessageStartingWith("vllm.target: each entry must be host:port");
    assertThatThrownBy(() -> WorkerConfig.of(Map.of("worker.drain-timeout", "soon")))
        .hasMessageStartingWith("worker.drain-timeout:");
    assertThatThrownBy(() -> WorkerConfig.of(Map.of("worker.max-in-flight", "64",
        "worker.max-buffered", "10"))).hasMessageStartingWith("worker.max-buffered:");
  }

  @Test
  void requestTopicsByModelArePairsAndABrokenPairIsNamed() {
    assertThat(WorkerConfig.of(Map.of()).get(WorkerConfig.TOPIC_REQUESTS_BY_MODEL)).isEmpty();
    assertThat(WorkerConfig.of(Map.of("topics.requests.by-model", "a=ta, b = tb"))
        .get(WorkerConfig.TOPIC_REQUESTS_BY_MODEL)).containsExactlyInAnyOrderEntriesOf(
            Map.of("a", "ta", "b", "tb"));
    assertThatThrownBy(() -> WorkerConfig.of(Map.of("topics.requests.by-model", "a=ta,b")))
        .isInstanceOf(ConfigException.class)
        .hasMessageStartingWith("topics.requests.by-model: must be name=value pairs");
    assertThatThrownBy(() -> WorkerConfig.of(Map.of("topics.requests.by-model", "a=x,a=y")))
        .hasMessageStartingWith("topics.requests.by-model: names a twice");
  }

  @Test
  void keysTheWorkerOwnsCannotBeSet() {
    assertThatThrownBy(() -> WorkerConfig.of(Map.of("kafka.enable.auto.commit", "true")))
        .hasMessageStartingWith("kafka.enable.auto.commit: cannot be set");
  }

  @Test
  void aMissingFileIsOneClearLine() {
    assertThatThrownBy(() -> WorkerConfig.load(dir.resolve("nope.properties"), Map.of()))
        .isInstanceOf(ConfigException.class).hasMessageContaining("file not found");
  }

  @Test
  void durationsTakeUnits() {
    WorkerConfig c = WorkerConfig.of(Map.of("worker.drain-timeout", "2m",
        "vllm.request-timeout", "1500"));
    assertThat(c.get(WorkerConfig.DRAIN_TIMEOUT)).isEqualTo(Duration.ofMinutes(2));
    assertThat(c.get(WorkerConfig.VLLM_REQUEST_TIMEOUT)).isEqualTo(Duration.ofMillis(1500));
  }

  @Test
  void secretsAreRedactedWhenDescribed() {
    WorkerConfig c = WorkerConfig.of(Map.of(
        "kafka.sasl.jaas.config", "org.apache...PlainLoginModule password=\"hunter2\";",
        "kafka.ssl.keystore.password", "hunter2", "kafka.ssl.key.password", "hunter2",
        "vllm.tokenizer.path", "/models/tok"));
    assertThat(c.describe().toString()).doesNotContain("hunter2").contains("/models/tok");
    assertThat(c.describe()).containsEntry("kafka.ssl.keystore.password", Secrets.REDACTED);
  }

  @Test
  void theReadmeHoldsTheConfigTableGeneratedFromTheDeclarations() throws IOException {
    String readme = Files.readString(Path.of("..", "README.md"));
    assertThat(readme).as("README.md config table; regenerate it with ConfigDocs")
        .contains(ConfigDocs.markdownTable());
    for (ConfigKey<?> k : WorkerConfig.KEYS) {
      assertThat(readme).contains("`" + k.name() + "`");
    }
  }
}
