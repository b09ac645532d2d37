package io.kvw.worker.backend;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.kvw.common.InferenceRequest;
import io.kvw.common.SamplingParams;
import io.kvw.testkit.sim.VllmSimulator;
import io.kvw.worker.config.WorkerConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** TLS and mutual TLS to vLLM, with certificates made for the test. */
class TlsTest {
  @TempDir
  static Path dir;
  static TestCertificates certs;
  static TestCertificates otherCa;

  @BeforeAll
  static void makeCertificates() throws Exception {
    certs = new TestCertificates(Files.createDirectory(dir.resolve("good")), "kvw-test-ca",
        true);
    otherCa = new TestCertificates(Files.createDirectory(dir.resolve("other")), "stranger-ca");
  }

  private static Map<String, String> tls(VllmSimulator sim, Path ca) {
    Map<String, String> m = new HashMap<>();
    m.put("vllm.target", "localhost:" + sim.port());
    m.put("vllm.tls.enabled", "true");
    m.put("vllm.tls.ca-file", ca.toString());
    return m;
  }

  private static String roundTrip(InferenceBackend backend) throws Exception {
    return backend.generate(new GenerationCall("t#1", new InferenceRequest("t", null,
        "over TLS", null, SamplingParams.DEFAULTS, null, false, null), Duration.ofSeconds(5),
        null)).get(10, TimeUnit.SECONDS).outputs().get(0).text();
  }

  @Test
  void theWorkerTalksTlsToAServerItsCaSigned() throws Exception {
    try (VllmSimulator sim = VllmSimulator.builder().tls(certs.cert("server").toFile(),
        certs.key("server").toFile(), null).build().start();
        InferenceBackend backend = new VllmBackendFactory().connect(WorkerConfig.of(
            tls(sim, certs.ca())), Duration.ofSeconds(10))) {
      assertThat(roundTrip(backend)).isEqualTo("over TLS");
    }
  }

  @Test
  void mutualTlsPresentsTheClientCertificate() throws Exception {
    try (VllmSimulator sim = VllmSimulator.builder().tls(certs.cert("server").toFile(),
        certs.key("server").toFile(), certs.ca().toFile()).build().start()) {
      Map<String, String> m = tls(sim, certs.ca());
      m.put("vllm.tls.cert-file", certs.cert("client").toString());
      m.put("vllm.tls.key-file", certs.key("client").toString());
      try (InferenceBackend backend = new VllmBackendFactory().connect(WorkerConfig.of(m),
          Duration.ofSeconds(10))) {
        assertThat(roundTrip(backend)).isEqualTo("over TLS");
      }
      // without a client certificate the server turns the worker away
      assertThatThrownBy(() -> new VllmBackendFactory().connect(WorkerConfig.of(
          tls(sim, certs.ca())), Duration.ofSeconds(3))).hasMessageContaining("vLLM at");
    }
  }

  @Test
  void aWrongCaFailsStartUpWithAClearError() throws Exception {
    try (VllmSimulator sim = VllmSimulator.builder().tls(certs.cert("server").toFile(),
        certs.key("server").toFile(), null).build().start()) {
      long start = System.nanoTime();
      assertThatThrownBy(() -> new VllmBackendFactory().connect(WorkerConfig.of(
          tls(sim, otherCa.ca())), Duration.ofSeconds(30)))
          .hasMessageStartingWith("TLS to vLLM at localhost:" + sim.port() + " failed")
          .hasMessageContaining("vllm.tls.ca-file");
      // it fails at once rather than waiting out the start-up timeout
      assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10));
    }
  }

  @Test
  void anUnreadableCaFileNamesItsKey() {
    assertThatThrownBy(() -> new VllmBackendFactory().connect(WorkerConfig.of(Map.of(
        "vllm.target", "localhost:1", "vllm.tls.enabled", "true", "vllm.tls.ca-file",
        "/nope/ca.pem")), Duration.ofSeconds(1)))
        .hasMessage("vllm.tls.ca-file: cannot read /nope/ca.pem");
  }
}
