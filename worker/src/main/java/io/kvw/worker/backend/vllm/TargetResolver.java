package io.kvw.worker.backend.vllm;

import java.io.IOException;
import java.util.List;

/**
 * Where the addresses of the vLLM replicas come from, asked again and again by
 * {@link TargetDiscovery}: DNS in production ({@link DnsTargetResolver}), a list the test
 * controls in tests.
 */
@FunctionalInterface
public interface TargetResolver {

  /**
   * The replicas' {@code host:port} addresses now.
   *
   * @throws IOException when the answer cannot be had (the last good set then stays)
   */
  List<String> resolve() throws IOException;
}
