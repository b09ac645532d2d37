package io.kvw.testkit.sim;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

/**
 * The simulator's own record of which request ids it was sent: every {@code Generate} call
 * counts, whatever became of it. Benchmarks read it to count work sent to the GPU more than
 * once, independently of what the worker published. Optionally each id is also appended to a
 * file, one a line ({@code SimulatorMain --request-log FILE}).
 */
public final class RequestLog {
  private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();
  private volatile BufferedWriter file;

  void record(String requestId) {
    calls.computeIfAbsent(requestId, k -> new AtomicInteger()).incrementAndGet();
    BufferedWriter out = file;
    if (out != null) {
      synchronized (out) {
        try {
          out.write(requestId);
          out.newLine();
          out.flush();
        } catch (IOException e) {
          throw new UncheckedIOException(e);
        }
      }
    }
  }

  /** Also appends every id to {@code path} from now on. */
  public void writeTo(Path path) throws IOException {
    file = Files.newBufferedWriter(path, StandardCharsets.UTF_8);
  }

  /**
   * Calls per key, where {@code key} maps a backend request id to what identifies the user's
   * request (a client may send each attempt under its own id).
   */
  public Map<String, Integer> callsBy(Function<String, String> key) {
    Map<String, Integer> out = new HashMap<>();
    calls.forEach((id, n) -> out.merge(key.apply(id), n.get(), Integer::sum));
    return out;
  }

  /** Calls beyond the first for each key: work sent again. */
  public int repeatedBy(Function<String, String> key) {
    return callsBy(key).values().stream().mapToInt(n -> n - 1).sum();
  }
}
