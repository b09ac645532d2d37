package io.kvw.worker.backend.tokenizer.jinja;

import com.hubspot.jinjava.el.ExtendedSyntaxBuilder;
import com.hubspot.jinjava.el.ext.AdditionOperator;
import com.hubspot.jinjava.el.ext.ExtendedParser;
import com.hubspot.jinjava.el.ext.ExtendedScanner;
import com.hubspot.jinjava.el.ext.NamedParameterOperator;
import com.hubspot.jinjava.objects.collections.PyList;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import jinjava.de.odysseus.el.misc.NumberOperations;
import jinjava.de.odysseus.el.misc.TypeConverter;
import jinjava.de.odysseus.el.tree.Bindings;
import jinjava.de.odysseus.el.tree.impl.Parser;
import jinjava.de.odysseus.el.tree.impl.Scanner;
import jinjava.de.odysseus.el.tree.impl.Scanner.Symbol;
import jinjava.de.odysseus.el.tree.impl.ast.AstBinary;
import jinjava.de.odysseus.el.tree.impl.ast.AstBracket;
import jinjava.de.odysseus.el.tree.impl.ast.AstDot;
import jinjava.de.odysseus.el.tree.impl.ast.AstNode;
import jinjava.de.odysseus.el.tree.impl.ast.AstRightValue;
import jinjava.de.odysseus.el.tree.impl.ast.AstUnary;
import jinjava.javax.el.ELContext;

/**
 * Jinjava's expression syntax where Jinja2 (Python) reads templates differently:
 * <ul>
 *   <li>{@code +} is Python's: strings join strings, lists join lists, numbers add, anything
 *       else is Python's TypeError ("can only concatenate str (not "NoneType") to str").
 *       Jinjava's would print {@code null} or a list into the prompt where Jinja2 refuses;</li>
 *   <li>{@code not} applies to the whole comparison or test after it ({@code not x is defined}
 *       is {@code not (x is defined)}), not to the next value;</li>
 *   <li>a keyword argument takes the whole expression after {@code =}
 *       ({@code namespace(i=messages|length - 1)});</li>
 *   <li>slices take a step ({@code messages[::-1]});</li>
 *   <li>string literals take Python's escapes ({@code \\x41}, {@code \\u00e9}, a backslash
 *       before a line break...).</li>
 * </ul>
 * Requires Jinjava's natural operator precedence (filters bind before arithmetic).
 */
public final class PythonSyntax extends ExtendedSyntaxBuilder {
  private static final long serialVersionUID = 1L;

  public PythonSyntax() {
    super();
  }

  public PythonSyntax(Feature... features) {
    super(features);
  }

  @Override
  protected Parser createParser(String expression) {
    return new PythonParser(this, expression);
  }

  private static final class PythonParser extends ExtendedParser {
    PythonParser(PythonSyntax builder, String input) {
      super(builder, input);
    }

    @Override
    protected Scanner createScanner(String expression) {
      return new PythonScanner(expression);
    }

    @Override
    protected AstBinary createAstBinary(AstNode left, AstNode right,
        AstBinary.Operator operator) {
      return super.createAstBinary(left, right,
          operator == AdditionOperator.OP ? PythonAddition.OP : operator);
    }

    @Override
    protected AstNode unary(boolean required) throws Scanner.ScanException, ParseException {
      if (getToken().getSymbol() == Symbol.NOT) {
        consumeToken();
        return createAstUnary(eq(true), AstUnary.NOT);
      }
      return super.unary(required);
    }

    @Override
    protected AstNode add(boolean required) throws Scanner.ScanException, ParseException {
      AstNode v = mul(required);
      if (v == null) {
        return null;
      }
      while (true) {
        Scanner.Token token = getToken();
        if (token.getSymbol() == Symbol.PLUS) {
          consumeToken();
          v = createAstBinary(v, mul(true), PythonAddition.OP);
        } else if (token.getSymbol() == Symbol.MINUS) {
          consumeToken();
          v = createAstBinary(v, mul(true), AstBinary.SUB);
        } else if (token.getSymbol() == Symbol.EXTENSION
            && getExtensionHandler(token).getExtensionPoint() == ExtensionPoint.ADD) {
          boolean keyword = token.getImage().equals(NamedParameterOperator.TOKEN.getImage());
          v = getExtensionHandler(consumeToken()).createAstNode(v,
              keyword ? expr(true) : mul(true));
        } else {
          return v;
        }
      }
    }

    @Override
    protected AstNode value() throws Scanner.ScanException, ParseException {
      boolean lvalue = true;
      AstNode v = nonliteral();
      if (v == null) {
        v = literal();
        if (v == null) {
          return null;
        }
        lvalue = false;
      }
      while (true) {
        Symbol symbol = getToken().getSymbol();
        if (symbol == Symbol.DOT) {
          consumeToken();
          String name = consumeToken(Symbol.IDENTIFIER).getImage();
          AstDot dot = createAstDot(v, name, lvalue);
          v = getToken().getSymbol() == Symbol.LPAREN
              && context.isEnabled(Feature.METHOD_INVOCATIONS)
              ? createAstMethod(dot, params()) : dot;
        } else if (symbol == Symbol.LBRACK) {
          consumeToken();
          AstNode start = getToken().getSymbol() == Symbol.COLON ? null : expr(true);
          if (getToken().getSymbol() == Symbol.RBRACK) {
            consumeToken();
            AstBracket bracket = createAstBracket(v, start, lvalue,
                !context.isEnabled(Feature.NULL_PROPERTIES));
            v = getToken().getSymbol() == Symbol.LPAREN
                && context.isEnabled(Feature.METHOD_INVOCATIONS)
                ? createAstMethod(bracket, params()) : bracket;
          } else {
            consumeToken(Symbol.COLON);
            AstNode stop = sliceEnd() ? null : expr(true);
            AstNode step = null;
            if (getToken().getSymbol() == Symbol.COLON) {
              consumeToken();
              step = sliceEnd() ? null : expr(true);
            }
            consumeToken(Symbol.RBRACK);
            v = new Slice(v, start, stop, step);
          }
        } else {
          return v;
        }
      }
    }

    private boolean sliceEnd() {
      Symbol s = getToken().getSymbol();
      return s == Symbol.COLON || s == Symbol.RBRACK;
    }
  }

  /** Jinjava's scanner with string literals unescaped the way Python unescapes them. */
  private static final class PythonScanner extends ExtendedScanner {
    PythonScanner(String input) {
      super(input);
    }

    @Override
    protected Token nextString() throws ScanException {
      String in = getInput();
      char quote = in.charAt(getPosition());
      StringBuilder b = new StringBuilder();
      int i = getPosition() + 1;
      while (i < in.length()) {
        char c = in.charAt(i++);
        if (c == quote) {
          return token(Symbol.STRING, b.toString(), i - getPosition());
        }
        if (c != '\\' || i == in.length()) {
          b.append(c);
          continue;
        }
        char e = in.charAt(i++);
        switch (e) {
          case '\n' -> { } // a line continuation
          case '\\', '\'', '"' -> b.append(e);
          case 'a' -> b.append('\u0007');
          case 'b' -> b.append('\b');
          case 'f' -> b.append('\f');
          case 'n' -> b.append('\n');
          case 'r' -> b.append('\r');
          case 't' -> b.append('\t');
          case 'v' -> b.append('\u000b');
          case 'x', 'u', 'U' -> {
            int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
            if (i + digits > in.length()) {
              throw new ScanException(getPosition(), "truncated \\" + e + " escape", "hex");
            }
            b.appendCodePoint(Integer.parseInt(in.substring(i, i + digits), 16));
            i += digits;
          }
          default -> {
            if (e >= '0' && e <= '7') {
              int end = i - 1;
              while (end < in.length() && end < i + 2 && in.charAt(end) >= '0'
                  && in.charAt(end) <= '7') {
                end++;
              }
              b.append((char) Integer.parseInt(in.substring(i - 1, end), 8));
              i = end;
            } else {
              b.append('\\').append(e); // Python keeps unknown escapes as written
            }
          }
        }
      }
      throw new ScanException(getPosition(), "unterminated string", String.valueOf(quote));
    }
  }

  /** Python's binary {@code +} on JSON-shaped values. */
  static final class PythonAddition extends AstBinary.SimpleOperator {
    static final PythonAddition OP = new PythonAddition();

    @Override
    @SuppressWarnings("unchecked")
    protected Object apply(TypeConverter converter, Object a, Object b) {
      if (isString(a) && isString(b)) {
        return a.toString() + b;
      }
      if (a instanceof Collection && b instanceof Collection) {
        List<Object> joined = new ArrayList<>((Collection<Object>) a);
        joined.addAll((Collection<Object>) b);
        return new PyList(joined);
      }
      if (a instanceof Number && b instanceof Number) {
        return NumberOperations.add(converter, a, b);
      }
      if (isString(a) || a instanceof Collection) {
        String type = PythonValues.typeName(a);
        throw new IllegalArgumentException("can only concatenate " + type + " (not \""
            + PythonValues.typeName(b) + "\") to " + type);
      }
      throw new IllegalArgumentException("unsupported operand type(s) for +: '"
          + PythonValues.typeName(a) + "' and '" + PythonValues.typeName(b) + "'");
    }

    private static boolean isString(Object o) {
      return o instanceof CharSequence || o instanceof com.hubspot.jinjava.objects.SafeString;
    }

    @Override
    public String toString() {
      return "+";
    }
  }

  /** Python's {@code seq[start:stop:step]} on a list or a string. */
  static final class Slice extends AstRightValue {
    private final AstNode base;
    private final AstNode start;
    private final AstNode stop;
    private final AstNode step;

    Slice(AstNode base, AstNode start, AstNode stop, AstNode step) {
      this.base = base;
      this.start = start;
      this.stop = stop;
      this.step = step;
    }

    @Override
    public Object eval(Bindings bindings, ELContext context) {
      Object seq = base.eval(bindings, context);
      Integer from = index(start, bindings, context);
      Integer to = index(stop, bindings, context);
      Integer by = index(step, bindings, context);
      if (seq instanceof CharSequence s) {
        StringBuilder b = new StringBuilder();
        for (int i : indices(s.length(), from, to, by)) {
          b.append(s.charAt(i));
        }
        return b.toString();
      }
      if (seq instanceof List<?> list) {
        List<Object> out = new ArrayList<>();
        for (int i : indices(list.size(), from, to, by)) {
          out.add(list.get(i));
        }
        return new PyList(out);
      }
      if (seq == null) {
        return null;
      }
      throw new IllegalArgumentException("'" + PythonValues.typeName(seq)
          + "' object is not subscriptable");
    }

    private static Integer index(AstNode node, Bindings bindings, ELContext context) {
      if (node == null) {
        return null;
      }
      Object v = node.eval(bindings, context);
      return v == null ? null : ((Number) v).intValue();
    }

    /** CPython's PySlice_AdjustIndices. */
    static List<Integer> indices(int length, Integer start, Integer stop, Integer step) {
      int by = step == null ? 1 : step;
      if (by == 0) {
        throw new IllegalArgumentException("slice step cannot be zero");
      }
      int from;
      int to;
      if (by > 0) {
        from = start == null ? 0 : clamp(start, length, 0, length);
        to = stop == null ? length : clamp(stop, length, 0, length);
      } else {
        from = start == null ? length - 1 : clamp(start, length, -1, length - 1);
        to = stop == null ? -1 : clamp(stop, length, -1, length - 1);
      }
      List<Integer> out = new ArrayList<>();
      for (int i = from; by > 0 ? i < to : i > to; i += by) {
        out.add(i);
      }
      return out;
    }

    private static int clamp(int index, int length, int low, int high) {
      int i = index < 0 ? index + length : index;
      return Math.max(low, Math.min(high, i));
    }

    @Override
    public void appendStructure(StringBuilder b, Bindings bindings) {
      base.appendStructure(b, bindings);
      b.append('[');
      for (AstNode part : new AstNode[] {start, stop, step}) {
        if (part != null) {
          part.appendStructure(b, bindings);
        }
        if (part != step) {
          b.append(':');
        }
      }
      b.append(']');
    }

    @Override
    public String toString() {
      return "slice";
    }

    @Override
    public int getCardinality() {
      return 4;
    }

    @Override
    public AstNode getChild(int i) {
      return switch (i) {
        case 0 -> base;
        case 1 -> start;
        case 2 -> stop;
        case 3 -> step;
        default -> null;
      };
    }
  }
}
