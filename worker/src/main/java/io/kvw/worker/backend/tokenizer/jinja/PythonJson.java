package io.kvw.worker.backend.tokenizer.jinja;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.Map;

/**
 * Writes template values as Python's {@code json.dumps(x, ensure_ascii=False, indent=...)} does,
 * which is what transformers' {@code tojson} filter calls: keys in insertion order, separators
 * {@code ", "} and {@code ": "} (or {@code ","} at line ends when indenting), non-ASCII kept as
 * is, and floats written as Python's {@code repr} writes them.
 */
public final class PythonJson {
  private PythonJson() {}

  /**
   * @param indent spaces per level, or null for one line
   * @param itemSeparator Python's first separator, null for the default
   * @param keySeparator Python's second separator, null for the default
   */
  public static String dumps(Object value, Integer indent, String itemSeparator,
      String keySeparator, boolean sortKeys) {
    String items = itemSeparator != null ? itemSeparator : indent != null ? "," : ", ";
    String keys = keySeparator != null ? keySeparator : ": ";
    StringBuilder b = new StringBuilder();
    write(b, value, indent, items, keys, sortKeys, 0);
    return b.toString();
  }

  private static void write(StringBuilder b, Object v, Integer indent, String items,
      String keys, boolean sortKeys, int depth) {
    if (v == null) {
      b.append("null");
    } else if (v instanceof Boolean bool) {
      b.append(bool ? "true" : "false");
    } else if (v instanceof CharSequence s) {
      string(b, s.toString());
    } else if (v instanceof Double || v instanceof Float) {
      b.append(PythonValues.floatRepr(((Number) v).doubleValue(), true));
    } else if (v instanceof Number n) {
      b.append(n instanceof BigDecimal d ? d.toPlainString()
          : n instanceof BigInteger i ? i.toString() : Long.toString(n.longValue()));
    } else if (v instanceof Map<?, ?> map) {
      if (map.isEmpty()) {
        b.append("{}");
        return;
      }
      b.append('{');
      Iterable<? extends Map.Entry<?, ?>> entries = sortKeys
          ? new java.util.TreeMap<>(PythonValues.stringKeys(map)).entrySet() : map.entrySet();
      boolean first = true;
      for (Map.Entry<?, ?> e : entries) {
        if (!first) {
          b.append(items);
        }
        first = false;
        newline(b, indent, depth + 1);
        string(b, String.valueOf(e.getKey()));
        b.append(keys);
        write(b, e.getValue(), indent, items, keys, sortKeys, depth + 1);
      }
      newline(b, indent, depth);
      b.append('}');
    } else if (v instanceof Iterable<?> list) {
      if (!list.iterator().hasNext()) {
        b.append("[]");
        return;
      }
      b.append('[');
      boolean first = true;
      for (Object o : list) {
        if (!first) {
          b.append(items);
        }
        first = false;
        newline(b, indent, depth + 1);
        write(b, o, indent, items, keys, sortKeys, depth + 1);
      }
      newline(b, indent, depth);
      b.append(']');
    } else if (v instanceof Object[] array) {
      write(b, java.util.Arrays.asList(array), indent, items, keys, sortKeys, depth);
    } else {
      throw new IllegalArgumentException("Object of type " + PythonValues.typeName(v)
          + " is not JSON serializable");
    }
  }

  private static void newline(StringBuilder b, Integer indent, int depth) {
    if (indent != null) {
      b.append('\n');
      b.append(" ".repeat(indent * depth));
    }
  }

  /** A JSON string as Python writes it with ensure_ascii=False. */
  private static void string(StringBuilder b, String s) {
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> b.append("\\\"");
        case '\\' -> b.append("\\\\");
        case '\n' -> b.append("\\n");
        case '\r' -> b.append("\\r");
        case '\t' -> b.append("\\t");
        case '\b' -> b.append("\\b");
        case '\f' -> b.append("\\f");
        default -> {
          if (c < 0x20) {
            b.append(String.format("\\u%04x", (int) c));
          } else {
            b.append(c);
          }
        }
      }
    }
    b.append('"');
  }
}
