package io.kvw.worker.backend.tokenizer.jinja;

import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Locale;

/**
 * The shape a chat template expects a message's {@code content} in, detected as vLLM's server
 * detects it with {@code --chat-template-content-format auto}
 * ({@code _detect_content_format} in {@code vllm/entrypoints/chat_utils.py}).
 *
 * <p>{@link #OPENAI} when some {@code {% for %}} loop iterates over a message's content (a
 * message being the variable of a loop over {@code messages}, or over a variable
 * {@code {% set %}} from it), possibly filtered, tested or sliced:
 * {@code {% for item in message['content'] %}}. {@link #STRING} otherwise, and whenever the
 * analysis trips over a shape vLLM's also gives up on (a tuple or namespace target bound to the
 * messages), since vLLM then falls back to "string" too.
 */
public enum ContentFormat {
  /** Content is one string: text parts are joined with a newline. */
  STRING,
  /** Content is a list of parts, {@code [{"type": "text", "text": ...}]}. */
  OPENAI;

  /** The format vLLM's server would detect for a compiled template. */
  public static ContentFormat of(TransformersJinja.Compiled template) {
    List<TagNode> loops = new ArrayList<>();
    List<TagNode> sets = new ArrayList<>();
    collect(template.root(), loops, sets);
    try {
      List<String> messages = loopTargets(loops, boundTo(sets, "messages"), null);
      return loopTargets(loops, messages, "content").isEmpty() ? STRING : OPENAI;
    } catch (NotAName e) {
      return STRING;
    }
  }

  /** vLLM's analysis asserts a target is a plain name; where it is not, vLLM falls back. */
  private static final class NotAName extends Exception {
    NotAName() {
      super(null, null, false, false);
    }
  }

  /** Every for and set tag, in document order (as Jinja2's find_all walks the tree). */
  private static void collect(Node node, List<TagNode> loops, List<TagNode> sets) {
    if (node instanceof TagNode tag) {
      String name = tag.getTag().getName();
      if ("for".equals(name)) {
        loops.add(tag);
      } else if ("set".equals(name) && assignment(tag.getHelpers()) >= 0) {
        sets.add(tag);
      }
    }
    for (Node child : node.getChildren()) {
      collect(child, loops, sets);
    }
  }

  /** The variable and every name {@code {% set x = ... %}} binds to a view of it. */
  private static List<String> boundTo(List<TagNode> sets, String variable) throws NotAName {
    List<String> names = new ArrayList<>(List.of(variable));
    Deque<String> pending = new ArrayDeque<>(names);
    while (!pending.isEmpty()) {
      String current = pending.poll();
      for (TagNode set : sets) {
        String helpers = set.getHelpers();
        int eq = assignment(helpers);
        if (Access.matches(helpers.substring(eq + 1), current, null)) {
          String target = name(helpers.substring(0, eq));
          names.add(target);
          if (!target.equals(current)) {
            pending.add(target);
          }
        }
      }
    }
    return names;
  }

  /**
   * The variables of the loops over one of {@code variables} (or over their {@code key}), up to
   * and including the first; all of them when {@code key} is null (vLLM collects those fully and
   * stops at the first content loop).
   */
  private static List<String> loopTargets(List<TagNode> loops, List<String> variables,
      String key) throws NotAName {
    List<String> targets = new ArrayList<>();
    for (TagNode loop : loops) {
      String helpers = loop.getHelpers();
      int in = Access.keyword(helpers, "in");
      if (in < 0) {
        continue;
      }
      String iterable = Access.iterable(helpers.substring(in + 2));
      for (String variable : variables) {
        if (Access.matches(iterable, variable, key)) {
          targets.add(name(helpers.substring(0, in)));
          if (key != null) {
            return targets;
          }
          break;
        }
      }
    }
    return targets;
  }

  /** The position of the {@code =} of {@code x = expr}, or -1 for a block set. */
  private static int assignment(String helpers) {
    int eq = Access.topLevel(helpers, '=');
    return eq < 0 || helpers.startsWith("=", eq + 1) ? -1 : eq;
  }

  private static String name(String target) throws NotAName {
    String t = target.strip();
    if (!Access.isIdentifier(t)) {
      throw new NotAName();
    }
    return t;
  }

  /** Reads the expression shapes vLLM's analysis recognises, from the expression's text. */
  static final class Access {
    private Access() {}

    /**
     * Whether {@code expr} is {@code variable} (or {@code variable[key]} /
     * {@code variable.key}), possibly sliced ({@code [1:]}) and then filtered or tested
     * ({@code |list}, {@code is defined}): vLLM's {@code _is_var_or_elems_access}.
     */
    static boolean matches(String expr, String variable, String key) {
      String e = expr.strip();
      int i = identifierEnd(e, 0);
      if (i == 0 || !e.substring(0, i).equals(variable)) {
        return false;
      }
      boolean keyed = key == null;
      boolean sliced = false;
      // postfixes: one key access right after the name, then only slices
      while (i < e.length()) {
        int j = skipSpace(e, i);
        if (j < e.length() && e.charAt(j) == '.' && !keyed && !sliced) {
          int end = identifierEnd(e, skipSpace(e, j + 1));
          if (!e.substring(skipSpace(e, j + 1), end).equals(key)) {
            return false;
          }
          keyed = true;
          i = end;
        } else if (j < e.length() && e.charAt(j) == '[') {
          int close = closing(e, j);
          if (close < 0) {
            return false;
          }
          String inside = e.substring(j + 1, close).strip();
          if (topLevel(inside, ':') >= 0) {
            sliced = true;
          } else if (!keyed && !sliced && isQuoted(inside, key)) {
            keyed = true;
          } else {
            return false;
          }
          i = close + 1;
        } else {
          break;
        }
      }
      if (!keyed) {
        return false;
      }
      // then filters and tests, each with its own arguments
      while (true) {
        int j = skipSpace(e, i);
        if (j == e.length()) {
          return true;
        }
        if (e.charAt(j) == '|') {
          j = skipSpace(e, j + 1);
        } else if (e.startsWith("is", j) && j + 2 < e.length()
            && Character.isWhitespace(e.charAt(j + 2))) {
          j = skipSpace(e, j + 2);
          if (e.startsWith("not", j) && identifierEnd(e, j) == j + 3) {
            return false; // "is not t" is a negation around the test
          }
        } else {
          return false;
        }
        int end = identifierEnd(e, j);
        if (end == j) {
          return false;
        }
        i = end;
        int k = skipSpace(e, i);
        if (k < e.length() && e.charAt(k) == '(') {
          int close = closing(e, k);
          if (close < 0) {
            return false;
          }
          i = close + 1;
        }
      }
    }

    /** The iterable of a for tag's text after {@code in}: up to {@code if} or {@code recursive}. */
    static String iterable(String afterIn) {
      int cut = afterIn.length();
      for (String word : List.of("if", "recursive")) {
        int at = keyword(afterIn, word);
        if (at >= 0) {
          cut = Math.min(cut, at);
        }
      }
      return afterIn.substring(0, cut);
    }

    /** The first top-level occurrence of {@code word} as a whole word, or -1. */
    static int keyword(String s, String word) {
      return firstTopLevel(s, i -> s.startsWith(word, i)
          && (i == 0 || !isIdentifierPart(s.charAt(i - 1)))
          && identifierEnd(s, i) == i + word.length());
    }

    /** The first top-level occurrence of {@code ch} outside quotes and brackets, or -1. */
    static int topLevel(String s, char ch) {
      return firstTopLevel(s, i -> s.charAt(i) == ch);
    }

    /** The first index outside quotes and brackets where {@code matchesAt} holds, or -1. */
    private static int firstTopLevel(String s, java.util.function.IntPredicate matchesAt) {
      int depth = 0;
      char quote = 0;
      for (int i = 0; i < s.length(); i++) {
        char c = s.charAt(i);
        if (quote != 0) {
          if (c == '\\') {
            i++;
          } else if (c == quote) {
            quote = 0;
          }
        } else if (c == '\'' || c == '"') {
          quote = c;
        } else if (c == '(' || c == '[' || c == '{') {
          depth++;
        } else if (c == ')' || c == ']' || c == '}') {
          depth--;
        } else if (depth == 0 && matchesAt.test(i)) {
          return i;
        }
      }
      return -1;
    }

    /** The index of the bracket closing the one at {@code open}, or -1. */
    private static int closing(String s, int open) {
      int depth = 0;
      char quote = 0;
      for (int i = open; i < s.length(); i++) {
        char c = s.charAt(i);
        if (quote != 0) {
          if (c == '\\') {
            i++;
          } else if (c == quote) {
            quote = 0;
          }
        } else if (c == '\'' || c == '"') {
          quote = c;
        } else if (c == '(' || c == '[' || c == '{') {
          depth++;
        } else if (c == ')' || c == ']' || c == '}') {
          depth--;
          if (depth == 0) {
            return i;
          }
        }
      }
      return -1;
    }

    private static boolean isQuoted(String s, String value) {
      return value != null && s.length() >= 2 && (s.charAt(0) == '\'' || s.charAt(0) == '"')
          && s.charAt(s.length() - 1) == s.charAt(0)
          && s.substring(1, s.length() - 1).equals(value);
    }

    static boolean isIdentifier(String s) {
      return !s.isEmpty() && identifierEnd(s, 0) == s.length()
          && !List.of("true", "false", "none").contains(s.toLowerCase(Locale.ROOT));
    }

    private static int identifierEnd(String s, int from) {
      int i = from;
      if (i < s.length() && (Character.isLetter(s.charAt(i)) || s.charAt(i) == '_')) {
        i++;
        while (i < s.length() && isIdentifierPart(s.charAt(i))) {
          i++;
        }
      }
      return i;
    }

    private static boolean isIdentifierPart(char c) {
      return Character.isLetterOrDigit(c) || c == '_';
    }

    private static int skipSpace(String s, int from) {
      int i = from;
      while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
        i++;
      }
      return i;
    }
  }
}
