package io.kvw.worker.backend.tokenizer.jinja;

import java.math.BigDecimal;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/** How Python sees the JSON-shaped values a chat template works on: type names, str(), repr(). */
public final class PythonValues {
  private PythonValues() {}

  /** Python's name for the value's type, as its error messages use it. */
  public static String typeName(Object v) {
    if (v == null) {
      return "NoneType";
    }
    if (v instanceof CharSequence) {
      return "str";
    }
    if (v instanceof Boolean) {
      return "bool";
    }
    if (v instanceof Double || v instanceof Float || v instanceof BigDecimal) {
      return "float";
    }
    if (v instanceof Number) {
      return "int";
    }
    if (v instanceof Map) {
      return "dict";
    }
    if (v instanceof Iterable || v instanceof Object[]) {
      return "list";
    }
    return v.getClass().getSimpleName();
  }

  /** Python's {@code str.isspace()} for one character. */
  public static boolean isSpace(int c) {
    return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == 0x85;
  }

  /** Python's {@code str.strip(chars)}: both ends, left only, or right only. */
  public static String strip(String s, String chars, boolean left, boolean right) {
    int start = 0;
    int end = s.length();
    while (left && start < end && stripped(s.charAt(start), chars)) {
      start++;
    }
    while (right && end > start && stripped(s.charAt(end - 1), chars)) {
      end--;
    }
    return s.substring(start, end);
  }

  private static boolean stripped(char c, String chars) {
    return chars == null ? isSpace(c) : chars.indexOf(c) >= 0;
  }

  /** Python's {@code str(x)}, which is what {{ x }} prints. */
  public static String str(Object v) {
    if (v instanceof CharSequence s) {
      return s.toString();
    }
    return repr(v);
  }

  /** Python's {@code repr(x)} for JSON-shaped values. */
  public static String repr(Object v) {
    if (v == null) {
      return "None";
    }
    if (v instanceof Boolean b) {
      return b ? "True" : "False";
    }
    if (v instanceof CharSequence s) {
      return stringRepr(s.toString());
    }
    if (v instanceof Double || v instanceof Float) {
      return floatRepr(((Number) v).doubleValue(), false);
    }
    if (v instanceof Map<?, ?> map) {
      StringBuilder b = new StringBuilder("{");
      for (Iterator<? extends Map.Entry<?, ?>> it = map.entrySet().iterator(); it.hasNext(); ) {
        Map.Entry<?, ?> e = it.next();
        b.append(repr(e.getKey())).append(": ").append(repr(e.getValue()));
        if (it.hasNext()) {
          b.append(", ");
        }
      }
      return b.append('}').toString();
    }
    if (v instanceof Iterable<?> list) {
      StringBuilder b = new StringBuilder("[");
      for (Iterator<?> it = list.iterator(); it.hasNext(); ) {
        b.append(repr(it.next()));
        if (it.hasNext()) {
          b.append(", ");
        }
      }
      return b.append(']').toString();
    }
    return v.toString();
  }

  private static String stringRepr(String s) {
    char quote = s.indexOf('\'') >= 0 && s.indexOf('"') < 0 ? '"' : '\'';
    StringBuilder b = new StringBuilder().append(quote);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == quote || c == '\\') {
        b.append('\\').append(c);
      } else if (c == '\n') {
        b.append("\\n");
      } else if (c == '\r') {
        b.append("\\r");
      } else if (c == '\t') {
        b.append("\\t");
      } else if (c < 0x20 || c == 0x7f) {
        b.append(String.format("\\x%02x", (int) c));
      } else {
        b.append(c);
      }
    }
    return b.append(quote).toString();
  }

  /**
   * Python's {@code repr(float)}: the shortest digits that read back to the same double, plain
   * from 1e-4 up to 1e16 and in exponent form outside ("1e-05", "1.5e+16").
   *
   * @param json whether non-finite values are written as json.dumps writes them
   */
  public static String floatRepr(double d, boolean json) {
    if (Double.isNaN(d)) {
      return json ? "NaN" : "nan";
    }
    if (Double.isInfinite(d)) {
      return (d < 0 ? "-" : "") + (json ? "Infinity" : "inf");
    }
    if (d == 0) {
      return (1 / d < 0) ? "-0.0" : "0.0";
    }
    BigDecimal bd = new BigDecimal(Double.toString(Math.abs(d))).stripTrailingZeros();
    String digits = bd.unscaledValue().toString();
    int exponent = digits.length() - bd.scale() - 1;
    String sign = d < 0 ? "-" : "";
    if (exponent >= -4 && exponent < 16) {
      String plain = bd.toPlainString();
      return sign + (plain.indexOf('.') >= 0 ? plain : plain + ".0");
    }
    String mantissa = digits.length() == 1 ? digits : digits.charAt(0) + "." + digits.substring(1);
    return sign + mantissa + "e" + (exponent < 0 ? "-" : "+")
        + (Math.abs(exponent) < 10 ? "0" : "") + Math.abs(exponent);
  }

  /** A map's entries with their keys as strings (JSON objects have string keys anyway). */
  static Map<String, Object> stringKeys(Map<?, ?> map) {
    Map<String, Object> out = new LinkedHashMap<>();
    map.forEach((k, v) -> out.put(String.valueOf(k), v));
    return out;
  }
}
