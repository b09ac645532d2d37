package io.kvw.worker.backend.tokenizer.jinja;

import com.hubspot.jinjava.objects.collections.PyList;
import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * The Python methods chat templates call on strings, dicts and lists ({@code content.strip()},
 * {@code message.get('x', d)}, {@code tool.items()}, {@code s.split('</think>')[-1]}...), with
 * Python's semantics. Jinja2 evaluates them on real Python objects; Jinjava would otherwise
 * call the Java method of the same name, where there is one, with other semantics
 * ({@code String.split} takes a regular expression and drops trailing empty strings).
 * Consulted before Jinjava's own resolvers; anything it does not know falls through to them.
 */
final class PythonMethods extends ELResolver {

  @Override
  public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes,
      Object[] params) {
    if (base == null || method == null) {
      return null;
    }
    Object[] args = params == null ? new Object[0] : params;
    String name = method.toString();
    Object result;
    if (base instanceof CharSequence s) {
      result = stringMethod(s.toString(), name, args);
    } else if (base instanceof Map<?, ?> map) {
      result = dictMethod(map, name, args);
    } else if (base instanceof List<?> list) {
      result = listMethod(list, name, args);
    } else {
      return null;
    }
    if (result == NOT_A_METHOD) {
      return null;
    }
    context.setPropertyResolved(true);
    return result;
  }

  private static final Object NOT_A_METHOD = new Object();

  private static Object stringMethod(String s, String name, Object[] a) {
    switch (name) {
      case "strip":
        return PythonValues.strip(s, chars(a), true, true);
      case "lstrip":
        return PythonValues.strip(s, chars(a), true, false);
      case "rstrip":
        return PythonValues.strip(s, chars(a), false, true);
      case "split":
        return split(s, a.length > 0 ? (String) a[0] : null,
            a.length > 1 ? ((Number) a[1]).intValue() : -1);
      case "rsplit":
        if (a.length > 1 && ((Number) a[1]).intValue() >= 0) {
          return rsplit(s, a.length > 0 ? (String) a[0] : null, ((Number) a[1]).intValue());
        }
        return split(s, a.length > 0 ? (String) a[0] : null, -1);
      case "startswith":
        return affix(s, a[0], true);
      case "endswith":
        return affix(s, a[0], false);
      case "upper":
        return s.toUpperCase(Locale.ROOT);
      case "lower":
        return s.toLowerCase(Locale.ROOT);
      case "title":
        return title(s);
      case "capitalize":
        return s.isEmpty() ? s : s.substring(0, 1).toUpperCase(Locale.ROOT)
            + s.substring(1).toLowerCase(Locale.ROOT);
      case "replace":
        return replace(s, (String) a[0], (String) a[1],
            a.length > 2 ? ((Number) a[2]).intValue() : -1);
      case "find":
        return s.indexOf((String) a[0]);
      case "rfind":
        return s.lastIndexOf((String) a[0]);
      case "count":
        return count(s, (String) a[0]);
      case "join":
        return join(s, a[0]);
      case "splitlines":
        return new PyList(new ArrayList<Object>(List.of(s.split("\r\n|\r|\n", -1))
            .subList(0, s.isEmpty() ? 0 : lines(s))));
      case "isdigit":
        return !s.isEmpty() && s.chars().allMatch(Character::isDigit);
      case "isalpha":
        return !s.isEmpty() && s.chars().allMatch(Character::isLetter);
      case "isspace":
        return !s.isEmpty() && s.chars().allMatch(PythonValues::isSpace);
      default:
        return NOT_A_METHOD;
    }
  }

  private static String chars(Object[] a) {
    return a.length > 0 && a[0] != null ? a[0].toString() : null;
  }

  private static int lines(String s) {
    String[] parts = s.split("\r\n|\r|\n", -1);
    return parts[parts.length - 1].isEmpty() ? parts.length - 1 : parts.length;
  }

  /** Python's str.split: on runs of whitespace without a separator, else on each separator. */
  static PyList split(String s, String sep, int maxsplit) {
    List<Object> out = new ArrayList<>();
    if (sep == null) {
      int i = 0;
      int n = s.length();
      while (i < n) {
        while (i < n && PythonValues.isSpace(s.charAt(i))) {
          i++;
        }
        if (i == n) {
          break;
        }
        if (maxsplit >= 0 && out.size() == maxsplit) {
          out.add(PythonValues.strip(s.substring(i), null, false, true));
          break;
        }
        int j = i;
        while (j < n && !PythonValues.isSpace(s.charAt(j))) {
          j++;
        }
        out.add(s.substring(i, j));
        i = j;
      }
      return new PyList(out);
    }
    if (sep.isEmpty()) {
      throw new IllegalArgumentException("empty separator");
    }
    int from = 0;
    int at;
    while ((maxsplit < 0 || out.size() < maxsplit) && (at = s.indexOf(sep, from)) >= 0) {
      out.add(s.substring(from, at));
      from = at + sep.length();
    }
    out.add(s.substring(from));
    return new PyList(out);
  }

  private static PyList rsplit(String s, String sep, int maxsplit) {
    if (sep == null) {
      return split(s, null, -1);
    }
    List<Object> out = new ArrayList<>();
    int end = s.length();
    int at;
    while (out.size() < maxsplit && (at = s.lastIndexOf(sep, end - sep.length())) >= 0
        && end - sep.length() >= 0) {
      out.add(0, s.substring(at + sep.length(), end));
      end = at;
    }
    out.add(0, s.substring(0, end));
    return new PyList(out);
  }

  private static boolean affix(String s, Object affix, boolean prefix) {
    if (affix instanceof Iterable<?> options) {
      for (Object o : options) {
        if (affix(s, o, prefix)) {
          return true;
        }
      }
      return false;
    }
    String a = String.valueOf(affix);
    return prefix ? s.startsWith(a) : s.endsWith(a);
  }

  private static String title(String s) {
    StringBuilder b = new StringBuilder(s.length());
    boolean previousCased = false;
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      b.append(previousCased ? Character.toLowerCase(c) : Character.toUpperCase(c));
      previousCased = Character.isLetter(c);
    }
    return b.toString();
  }

  private static String replace(String s, String old, String replacement, int count) {
    if (count < 0) {
      return s.replace(old, replacement);
    }
    StringBuilder b = new StringBuilder();
    int from = 0;
    int at;
    int done = 0;
    while (done < count && (at = s.indexOf(old, from)) >= 0) {
      b.append(s, from, at).append(replacement);
      from = at + old.length();
      done++;
      if (old.isEmpty()) {
        if (from < s.length()) {
          b.append(s.charAt(from));
        }
        from++;
      }
    }
    if (from <= s.length()) {
      b.append(s.substring(Math.min(from, s.length())));
    }
    return b.toString();
  }

  private static int count(String s, String sub) {
    if (sub.isEmpty()) {
      return s.length() + 1;
    }
    int n = 0;
    for (int at = s.indexOf(sub); at >= 0; at = s.indexOf(sub, at + sub.length())) {
      n++;
    }
    return n;
  }

  private static String join(String separator, Object items) {
    StringBuilder b = new StringBuilder();
    Iterator<?> it = ((Iterable<?>) items).iterator();
    while (it.hasNext()) {
      Object o = it.next();
      if (!(o instanceof CharSequence)) {
        throw new IllegalArgumentException("sequence item: expected str instance, "
            + PythonValues.typeName(o) + " found");
      }
      b.append(o);
      if (it.hasNext()) {
        b.append(separator);
      }
    }
    return b.toString();
  }

  private static Object dictMethod(Map<?, ?> map, String name, Object[] a) {
    switch (name) {
      case "items": {
        List<Object> out = new ArrayList<>(map.size());
        map.forEach((k, v) -> out.add(new PyList(new ArrayList<>(java.util.Arrays.asList(k, v)))));
        return new PyList(out);
      }
      case "keys":
        return new PyList(new ArrayList<>(map.keySet()));
      case "values":
        return new PyList(new ArrayList<>(map.values()));
      case "get":
        return map.containsKey(a[0]) ? map.get(a[0]) : a.length > 1 ? a[1] : null;
      default:
        return NOT_A_METHOD;
    }
  }

  private static Object listMethod(List<?> list, String name, Object[] a) {
    switch (name) {
      case "index": {
        int i = list.indexOf(a[0]);
        if (i < 0) {
          throw new IllegalArgumentException(PythonValues.repr(a[0]) + " is not in list");
        }
        return i;
      }
      case "count":
        return (int) list.stream().filter(o -> java.util.Objects.equals(o, a[0])).count();
      default:
        return NOT_A_METHOD;
    }
  }

  @Override
  public Object getValue(ELContext context, Object base, Object property) {
    return null;
  }

  @Override
  public Class<?> getType(ELContext context, Object base, Object property) {
    return null;
  }

  @Override
  public void setValue(ELContext context, Object base, Object property, Object value) {}

  @Override
  public boolean isReadOnly(ELContext context, Object base, Object property) {
    return true;
  }

  @Override
  public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
    return null;
  }

  @Override
  public Class<?> getCommonPropertyType(ELContext context, Object base) {
    return null;
  }
}
