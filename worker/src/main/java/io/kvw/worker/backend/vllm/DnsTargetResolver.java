package io.kvw.worker.backend.vllm;

import java.io.IOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.List;

/**
 * Resolves one DNS name to every address it has, each with the same port: the pods behind a
 * Kubernetes headless Service ({@code vllm-headless.NAMESPACE.svc}) answer with one A record
 * per ready pod. Uses the JVM's resolver, whose positive cache lasts 30 s by default
 * ({@code networkaddress.cache.ttl}).
 */
public final class DnsTargetResolver implements TargetResolver {
  private final String host;
  private final int port;

  public DnsTargetResolver(String host, int port) {
    this.host = host;
    this.port = port;
  }

  @Override
  public List<String> resolve() throws IOException {
    return java.util.Arrays.stream(InetAddress.getAllByName(host))
        .map(a -> (a instanceof Inet6Address ? "[" + a.getHostAddress() + "]"
            : a.getHostAddress()) + ":" + port)
        .distinct().sorted().toList();
  }

  @Override
  public String toString() {
    return "dns:///" + host + ":" + port;
  }
}
