package io.kvw.worker.backend.vllm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.UnknownHostException;
import org.junit.jupiter.api.Test;

/** The DNS side of {@code dns:///NAME:PORT}, through the machine's own resolver. */
class DnsTargetResolverTest {

  @Test
  void everyAddressOfTheNameBecomesATargetWithThePort() throws Exception {
    assertThat(new DnsTargetResolver("localhost", 50051).resolve())
        .contains("127.0.0.1:50051")
        .allSatisfy(t -> assertThat(t).endsWith(":50051"))
        .doesNotHaveDuplicates();
    assertThat(new DnsTargetResolver("::1", 7).resolve()).containsExactly("[0:0:0:0:0:0:0:1]:7");
  }

  @Test
  void aNameThatDoesNotResolveIsAnErrorNotAnEmptyPool() {
    assertThatThrownBy(() -> new DnsTargetResolver("no-such-host.invalid", 1).resolve())
        .isInstanceOf(UnknownHostException.class);
  }
}
