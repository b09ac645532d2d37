package io.kvw.worker.backend.vllm;

import io.grpc.netty.shaded.io.grpc.netty.GrpcSslContexts;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import java.io.File;
import javax.net.ssl.SSLException;

/**
 * How channels to vLLM are secured: plaintext, TLS, or mutual TLS. The TLS context is built
 * once from PEM files; a file that cannot be read fails at start-up, naming its key.
 */
public final class ChannelSecurity {
  private final SslContext ssl;
  private final String serverName;

  private ChannelSecurity(SslContext ssl, String serverName) {
    this.ssl = ssl;
    this.serverName = serverName;
  }

  public static ChannelSecurity plaintext() {
    return new ChannelSecurity(null, null);
  }

  /**
   * @param caFile PEM CA certificates to trust, or null for the JDK's trust store
   * @param certFile PEM client certificate chain, or null (no client certificate)
   * @param keyFile PEM PKCS#8 private key of {@code certFile}
   * @param serverName the name to verify the server certificate against, or null for the host
   */
  public static ChannelSecurity tls(File caFile, File certFile, File keyFile, String serverName)
      throws SSLException {
    SslContextBuilder b = GrpcSslContexts.forClient();
    if (caFile != null) {
      b.trustManager(caFile);
    }
    if (certFile != null) {
      b.keyManager(certFile, keyFile);
    }
    return new ChannelSecurity(b.build(), serverName);
  }

  public boolean isTls() {
    return ssl != null;
  }

  void apply(NettyChannelBuilder builder) {
    if (ssl == null) {
      builder.usePlaintext();
      return;
    }
    builder.useTransportSecurity().sslContext(ssl);
    if (serverName != null && !serverName.isEmpty()) {
      builder.overrideAuthority(serverName);
    }
  }
}
