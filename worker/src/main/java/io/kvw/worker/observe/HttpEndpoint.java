package io.kvw.worker.observe;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * {@code /metrics} (Prometheus text format), {@code /health/live} and {@code /health/ready}
 * on the JDK's built-in HTTP server: three small endpoints do not justify a web framework.
 * Health answers 200 or 503 with a one-line reason.
 */
public final class HttpEndpoint implements AutoCloseable {

  /** A health verdict: ok, or not with the reason. */
  public record Health(boolean ok, String reason) {
    public static Health up() {
      return new Health(true, "ok");
    }

    public static Health down(String reason) {
      return new Health(false, reason);
    }
  }

  private final HttpServer server;

  public HttpEndpoint(int port, PrometheusMeterRegistry registry, Supplier<Health> live,
      Supplier<Health> ready) throws IOException {
    server = HttpServer.create(new InetSocketAddress(port), 0);
    server.setExecutor(Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "http-endpoint");
      t.setDaemon(true);
      return t;
    }));
    server.createContext("/metrics", ex -> respond(ex, 200,
        "text/plain; version=0.0.4; charset=utf-8", registry.scrape()));
    server.createContext("/health/live", ex -> health(ex, live.get()));
    server.createContext("/health/ready", ex -> health(ex, ready.get()));
    server.start();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  private static void health(HttpExchange ex, Health h) throws IOException {
    respond(ex, h.ok() ? 200 : 503, "text/plain; charset=utf-8", h.reason() + "\n");
  }

  private static void respond(HttpExchange ex, int status, String type, String body)
      throws IOException {
    byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
    ex.getResponseHeaders().set("Content-Type", type);
    ex.sendResponseHeaders(status, bytes.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(bytes);
    }
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
