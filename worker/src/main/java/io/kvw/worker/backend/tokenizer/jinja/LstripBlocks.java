package io.kvw.worker.backend.tokenizer.jinja;

/**
 * Makes Jinjava's {@code lstrip_blocks} strip what Jinja2's does, and no more. Jinja2 strips
 * the spaces and tabs before a block tag or comment only when they stand at the start of a line
 * (after a newline in the source, or at its very start); Jinjava strips them after any text, so
 * {@code "[assistant] {% endif %}"} loses its space. This pass, run on the template source
 * before Jinjava parses it, moves such mid-line whitespace into an expression
 * ({@code {{ '  ' }}}), which Jinjava prints as it is.
 */
final class LstripBlocks {
  private LstripBlocks() {}

  static String protectMidLineWhitespace(String source) {
    StringBuilder out = new StringBuilder(source.length() + 16);
    int i = 0;
    int n = source.length();
    while (i < n) {
      int open = source.indexOf('{', i);
      if (open < 0 || open + 1 >= n) {
        out.append(source, i, n);
        break;
      }
      char kind = source.charAt(open + 1);
      if (kind != '{' && kind != '%' && kind != '#') {
        out.append(source, i, open + 1);
        i = open + 1;
        continue;
      }
      // text up to the tag; protect its trailing mid-line whitespace before a block or comment
      int runStart = open;
      while (runStart > i && (source.charAt(runStart - 1) == ' '
          || source.charAt(runStart - 1) == '\t')) {
        runStart--;
      }
      boolean stripMarker = open + 2 < n && (source.charAt(open + 2) == '-'
          || source.charAt(open + 2) == '+');
      boolean midLine = runStart > 0 && source.charAt(runStart - 1) != '\n';
      if ((kind == '%' || kind == '#') && !stripMarker && runStart < open && midLine) {
        out.append(source, i, runStart).append("{{ '").append(source, runStart, open)
            .append("' }}");
      } else {
        out.append(source, i, open);
      }
      int close = closing(source, open, kind);
      out.append(source, open, close);
      i = close;
      if (kind == '%' && isRaw(source, open, close)) {
        int end = source.indexOf("endraw", close);
        int endClose = end < 0 ? n : closing(source, source.lastIndexOf("{%", end), '%');
        out.append(source, close, endClose);
        i = endClose;
      }
    }
    return out.toString();
  }

  /** The index just past the tag opened at {@code open}, skipping quoted strings. */
  private static int closing(String s, int open, char kind) {
    char end = kind == '{' ? '}' : kind;
    char quote = 0;
    for (int j = open + 2; j < s.length() - 1; j++) {
      char c = s.charAt(j);
      if (quote != 0) {
        if (c == '\\') {
          j++;
        } else if (c == quote) {
          quote = 0;
        }
      } else if (kind != '#' && (c == '\'' || c == '"')) {
        quote = c;
      } else if (c == end && s.charAt(j + 1) == '}') {
        return j + 2;
      }
    }
    return s.length();
  }

  private static boolean isRaw(String s, int open, int close) {
    String body = s.substring(open + 2, Math.max(open + 2, close - 2)).replace("-", "").strip();
    return body.equals("raw");
  }
}
