package io.kvw.testkit.kafka;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Free ports on 127.0.0.1 for a broker that must come back on the same port after a stop.
 * Ports are taken below the kernel's ephemeral range: every outgoing connection on the machine
 * gets an ephemeral local port, so a port from that range can be taken by some client while the
 * broker is down, and the restart then fails with "address already in use".
 */
final class LoopbackPorts {
  private static final int LOWEST = 10_000;
  private static final int DEFAULT_EPHEMERAL_LOW = 32_768;

  private LoopbackPorts() {}

  /** A port nobody listens on right now, outside the ephemeral range when possible. */
  static int free() {
    int ephemeralLow = ephemeralLow();
    if (ephemeralLow - LOWEST >= 1_000) {
      for (int attempt = 0; attempt < 200; attempt++) {
        int port = ThreadLocalRandom.current().nextInt(LOWEST, ephemeralLow);
        if (isFree(port)) {
          return port;
        }
      }
    }
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static boolean isFree(int port) {
    try (ServerSocket s = new ServerSocket()) {
      s.setReuseAddress(true);
      s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static int ephemeralLow() {
    try {
      String range = Files.readString(Path.of("/proc/sys/net/ipv4/ip_local_port_range")).trim();
      return Integer.parseInt(range.split("\\s+")[0]);
    } catch (IOException | RuntimeException e) {
      // not Linux: the IANA ephemeral range starts at 49152, Linux's default at 32768
      return DEFAULT_EPHEMERAL_LOW;
    }
  }
}
