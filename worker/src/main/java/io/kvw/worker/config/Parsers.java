package io.kvw.worker.config;

import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Value parsers for {@link ConfigKey}; each failure message says what is allowed. */
final class Parsers {
  private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h)?");

  private Parsers() {}

  static Function<String, String> string() {
    return s -> s;
  }

  static Function<String, String> nonEmpty() {
    return s -> {
      if (s.isEmpty()) {
        throw new IllegalArgumentException("must not be empty");
      }
      return s;
    };
  }

  /**
   * {@code name=value} pairs, comma-separated, each side non-empty (e.g. a model to its
   * topic); empty for an empty string.
   */
  static Function<String, Map<String, String>> pairs() {
    return s -> {
      Map<String, String> out = new LinkedHashMap<>();
      for (String pair : s.split(",")) {
        if (pair.isBlank()) {
          continue;
        }
        int eq = pair.indexOf('=');
        String name = eq < 0 ? "" : pair.substring(0, eq).trim();
        String value = eq < 0 ? "" : pair.substring(eq + 1).trim();
        if (name.isEmpty() || value.isEmpty()) {
          throw new IllegalArgumentException("must be name=value pairs separated by commas, "
              + "got '" + pair.trim() + "'");
        }
        if (out.put(name, value) != null) {
          throw new IllegalArgumentException("names " + name + " twice");
        }
      }
      return Map.copyOf(out);
    };
  }

  static Function<String, Boolean> bool() {
    return s -> {
      if (!s.equals("true") && !s.equals("false")) {
        throw new IllegalArgumentException("must be true or false");
      }
      return Boolean.parseBoolean(s);
    };
  }

  static Function<String, Integer> intIn(int min, int max) {
    return s -> {
      int v;
      try {
        v = Integer.parseInt(s);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("must be a whole number from " + min + " to " + max);
      }
      if (v < min || v > max) {
        throw new IllegalArgumentException("must be from " + min + " to " + max);
      }
      return v;
    };
  }

  /** Durations as {@code 250ms}, {@code 30s}, {@code 5m}, {@code 1h}, or plain milliseconds. */
  static Function<String, Duration> durationIn(Duration min, Duration max) {
    return s -> {
      Matcher m = DURATION.matcher(s.toLowerCase(Locale.ROOT));
      if (!m.matches()) {
        throw new IllegalArgumentException("must be a duration like 500ms, 30s, 5m or 1h");
      }
      long n = Long.parseLong(m.group(1));
      String unit = m.group(2) == null ? "ms" : m.group(2);
      Duration d = switch (unit) {
        case "ms" -> Duration.ofMillis(n);
        case "s" -> Duration.ofSeconds(n);
        case "m" -> Duration.ofMinutes(n);
        default -> Duration.ofHours(n);
      };
      if (d.compareTo(min) < 0 || d.compareTo(max) > 0) {
        throw new IllegalArgumentException("must be from " + min.toMillis() + "ms to "
            + max.toMillis() + "ms");
      }
      return d;
    };
  }

  /**
   * A comma-separated list of {@code host:port}, or one {@code dns:///host:port}: a name
   * resolved again and again, each of its addresses a target.
   */
  static Function<String, List<String>> hostPorts() {
    return s -> {
      List<String> targets = Arrays.stream(s.split(",")).map(String::trim)
          .filter(t -> !t.isEmpty()).toList();
      if (targets.isEmpty()) {
        throw new IllegalArgumentException("must list at least one host:port");
      }
      for (String t : targets) {
        if (t.startsWith(WorkerConfig.DNS_TARGET_SCHEME)) {
          if (targets.size() > 1) {
            throw new IllegalArgumentException("a dns:/// target must be the only one");
          }
          t = t.substring(WorkerConfig.DNS_TARGET_SCHEME.length());
        } else if (t.contains("://")) {
          throw new IllegalArgumentException("the only scheme is dns:/// (e.g. "
              + "dns:///vllm-headless.ns.svc:50051), got " + t);
        }
        int colon = t.lastIndexOf(':');
        if (colon <= 0 || colon == t.length() - 1) {
          throw new IllegalArgumentException("each entry must be host:port");
        }
        intIn(1, 65535).apply(t.substring(colon + 1));
      }
      return targets;
    };
  }

  static <E extends Enum<E>> Function<String, E> oneOf(Class<E> type) {
    return s -> {
      for (E e : type.getEnumConstants()) {
        if (e.name().equalsIgnoreCase(s.replace('-', '_'))) {
          return e;
        }
      }
      throw new IllegalArgumentException("must be one of " + Arrays.toString(
          Arrays.stream(type.getEnumConstants()).map(e -> e.name().toLowerCase(Locale.ROOT))
              .toArray()));
    };
  }
}
