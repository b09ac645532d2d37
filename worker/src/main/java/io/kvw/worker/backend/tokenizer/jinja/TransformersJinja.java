package io.kvw.worker.backend.tokenizer.jinja;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.el.TruthyTypeConverter;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.InterpreterFactory;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.exptest.ExpTest;
import com.hubspot.jinjava.lib.filter.Filter;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.lib.tag.Tag;
import com.hubspot.jinjava.objects.collections.PyList;
import com.hubspot.jinjava.objects.date.StrftimeFormatter;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import io.kvw.worker.backend.tokenizer.ChatTemplateException;
import java.time.Clock;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import jinjava.de.odysseus.el.ExpressionFactoryImpl;
import jinjava.de.odysseus.el.tree.TreeBuilder;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ExpressionFactory;

/**
 * Jinjava set up the way transformers' {@code apply_chat_template} sets up Jinja2, which is what
 * vLLM's server renders chat templates with: {@code trim_blocks} and {@code lstrip_blocks},
 * loop controls, {@code raise_exception(msg)}, Python's {@code tojson}, {@code strftime_now(fmt)}
 * and the {@code {% generation %}} tag, plus the Python idioms templates are written in (string
 * and dict methods, {@code +}, {@code is string}/{@code is iterable}, {@code |trim}...).
 *
 * <p>A template is parsed once ({@link #compile}) and the parsed tree is rendered concurrently
 * from any number of threads: every render gets its own interpreter and context.
 */
public final class TransformersJinja {
  /** The template's raise_exception in the render on this thread, if it called it. */
  private static final ThreadLocal<Raised> RAISED = new ThreadLocal<>();

  /** A raise_exception call, and how many errors the render had recorded before it. */
  private record Raised(String message, int errorsBefore) {}

  private final Jinjava jinjava;
  private final JinjavaConfig config;

  /** @param clock what strftime_now reads (its zone too) */
  public TransformersJinja(Clock clock) {
    CompositeELResolver resolver = new CompositeELResolver();
    resolver.add(new PythonMethods());
    resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
    this.config = JinjavaConfig.newBuilder()
        .withTrimBlocks(true)
        .withLstripBlocks(true)
        .withElResolver(resolver)
        .withTimeZone(clock.getZone())
        .withLocale(Locale.ROOT)
        .withDateTimeProvider(clock::millis)
        .withMaxOutputSize(64L * 1024 * 1024)
        // a message saying "{{ x }}" is text: Jinjava would otherwise render what it prints
        .withNestedInterpretationEnabled(false)
        .withInterperterFactory(new PythonPrinting())
        .withLegacyOverrides(LegacyOverrides.newBuilder()
            .withEvaluateMapKeys(true)
            .withIterateOverMapKeys(true)
            .withUsePyishObjectMapper(true)
            .withUseNaturalOperatorPrecedence(true)
            .withParseWhitespaceControlStrictly(true)
            .withUseTrimmingForNotesAndExpressions(true)
            .withKeepNullableLoopValues(true)
            .build())
        .build();
    this.jinjava = new PythonJinjava(config);
    register(jinjava.getGlobalContext());
  }

  /**
   * Interpreters that print values as Python's str() does: True and False, lists and dicts in
   * Python's notation, floats as repr() writes them. An undefined or null value prints nothing.
   */
  private static final class PythonPrinting implements InterpreterFactory {
    @Override
    public JinjavaInterpreter newInstance(JinjavaInterpreter orig) {
      return new Interpreter(orig);
    }

    @Override
    public JinjavaInterpreter newInstance(Jinjava application, Context context,
        JinjavaConfig renderConfig) {
      return new Interpreter(application, context, renderConfig);
    }

    private static final class Interpreter extends JinjavaInterpreter {
      Interpreter(JinjavaInterpreter orig) {
        super(orig);
      }

      Interpreter(Jinjava application, Context context, JinjavaConfig config) {
        super(application, context, config);
      }

      @Override
      public String getAsString(Object object) {
        return object == null ? "" : PythonValues.str(object);
      }
    }
  }

  /** Jinjava whose expressions use {@link PythonSyntax}. */
  private static final class PythonJinjava extends Jinjava {
    private final ExpressionFactory expressions;

    PythonJinjava(JinjavaConfig config) {
      super(config);
      Properties properties = new Properties();
      properties.setProperty(TreeBuilder.class.getName(), PythonSyntax.class.getName());
      this.expressions = new ExpressionFactoryImpl(properties, new TruthyTypeConverter());
    }

    @Override
    public ExpressionFactory getExpressionFactory() {
      return expressions;
    }
  }

  /** A parsed template; render it with {@link #render}. Immutable. */
  public static final class Compiled {
    private final Node root;

    private Compiled(Node root) {
      this.root = root;
    }

    /** The parse tree, for {@link ContentFormat#of} to read (never to change). */
    Node root() {
      return root;
    }
  }

  /** Parses a template once. */
  public Compiled compile(String source) {
    JinjavaInterpreter interpreter = newInterpreter(Map.of());
    JinjavaInterpreter.pushCurrent(interpreter);
    try {
      Node root = interpreter.parse(LstripBlocks.protectMidLineWhitespace(source));
      failOnErrors(interpreter, "the chat template does not parse: ");
      return new Compiled(root);
    } finally {
      JinjavaInterpreter.popCurrent();
    }
  }

  /**
   * Renders a parsed template.
   *
   * @throws ChatTemplateException when the template raises, or fails to render
   */
  public String render(Compiled template, Map<String, Object> variables) {
    JinjavaInterpreter interpreter = newInterpreter(variables);
    JinjavaInterpreter.pushCurrent(interpreter);
    RAISED.remove();
    try {
      String out = interpreter.render(template.root, false);
      // Jinja2 stops at the first error; Jinjava records it and goes on: report the first
      Raised raised = RAISED.get();
      List<TemplateError> errors = interpreter.getErrors();
      for (int i = 0; i < errors.size(); i++) {
        if (raised != null && raised.errorsBefore() <= i) {
          break;
        }
        if (errors.get(i).getSeverity() == TemplateError.ErrorType.FATAL) {
          throw new ChatTemplateException("the chat template failed: "
              + errors.get(i).getMessage(), false);
        }
      }
      if (raised != null) {
        throw new ChatTemplateException(raised.message(), true);
      }
      return out;
    } finally {
      RAISED.remove();
      JinjavaInterpreter.popCurrent();
    }
  }

  private JinjavaInterpreter newInterpreter(Map<String, Object> variables) {
    Context context = new Context(jinjava.getGlobalContextCopy(), variables,
        config.getDisabled());
    return config.getInterpreterFactory().newInstance(jinjava, context, config);
  }

  private static void failOnErrors(JinjavaInterpreter interpreter, String prefix) {
    for (TemplateError e : interpreter.getErrors()) {
      if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
        throw new ChatTemplateException(prefix + e.getMessage(), false);
      }
    }
  }

  private static void register(Context context) {
    context.registerFunction(new ELFunctionDefinition("", "raise_exception",
        TransformersJinja.class, "raiseException", String.class));
    context.registerFunction(new ELFunctionDefinition("", "strftime_now",
        TransformersJinja.class, "strftimeNow", String.class));
    context.registerFilter(new ToJson());
    context.registerFilter(new Trim());
    context.registerFilter(new Items());
    context.registerFilter(new Str());
    context.registerExpTest(new IsIterable());
    context.registerExpTest(new IsString());
    context.registerTag(new Generation());
    // Jinja2 globals are variables too: templates test "strftime_now is defined"
    context.put("strftime_now", "<function strftime_now>");
    context.put("raise_exception", "<function raise_exception>");
  }

  /** transformers' raise_exception: the template refuses the conversation with msg. */
  public static String raiseException(String message) {
    if (RAISED.get() == null) {
      RAISED.set(new Raised(message, JinjavaInterpreter.getCurrent().getErrors().size()));
    }
    throw new TemplateRaised(message);
  }

  /** Thrown to stop the expression that called raise_exception. */
  private static final class TemplateRaised extends RuntimeException {
    TemplateRaised(String message) {
      super(message, null, false, false);
    }
  }

  /** transformers' strftime_now: the current local time formatted with strftime. */
  public static String strftimeNow(String format) {
    JinjavaConfig config = JinjavaInterpreter.getCurrent().getConfig();
    ZonedDateTime now = Instant.ofEpochMilli(config.getDateTimeProvider()
        .getCurrentTimeMillis()).atZone(config.getTimeZone());
    return StrftimeFormatter.format(now, format, Locale.ENGLISH);
  }

  /** transformers' tojson: json.dumps(x, ensure_ascii=False, indent=..., ...). */
  private static final class ToJson implements Filter {
    @Override
    public String getName() {
      return "tojson";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args,
        Map<String, Object> kwargs) {
      Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
      Object separators = kwargs.get("separators");
      String items = null;
      String keys = null;
      if (separators instanceof List<?> pair && pair.size() == 2) {
        items = String.valueOf(pair.get(0));
        keys = String.valueOf(pair.get(1));
      }
      Object sort = kwargs.get("sort_keys");
      return PythonJson.dumps(var, indent == null ? null : ((Number) indent).intValue(), items,
          keys, Boolean.TRUE.equals(sort));
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      return filter(var, interpreter, args, Map.of());
    }
  }

  /** Jinja2's trim: Python's str.strip(chars). */
  private static final class Trim implements Filter {
    @Override
    public String getName() {
      return "trim";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      return var == null ? "" : PythonValues.strip(PythonValues.str(var),
          args.length > 0 ? args[0] : null, true, true);
    }
  }

  /** Jinja2 3.1's items: a mapping's (key, value) pairs. */
  private static final class Items implements Filter {
    @Override
    public String getName() {
      return "items";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      List<Object> out = new ArrayList<>();
      if (var instanceof Map<?, ?> map) {
        map.forEach((k, v) -> out.add(new PyList(new ArrayList<>(Arrays.asList(k, v)))));
      } else if (var != null) {
        throw new IllegalArgumentException("Can only get item pairs from a mapping.");
      }
      return new PyList(out);
    }
  }

  /** Jinja2's string: Python's str(x) (None, True, lists and dicts as Python writes them). */
  private static final class Str implements Filter {
    @Override
    public String getName() {
      return "string";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
      return PythonValues.str(var);
    }
  }

  /** Jinja2's iterable: strings, lists and mappings are (Jinjava leaves strings out). */
  private static final class IsIterable implements ExpTest {
    @Override
    public String getName() {
      return "iterable";
    }

    @Override
    public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
      return var instanceof CharSequence || var instanceof Iterable || var instanceof Map
          || var instanceof com.hubspot.jinjava.objects.SafeString
          || (var != null && var.getClass().isArray());
    }
  }

  /** Jinja2's string test. */
  private static final class IsString implements ExpTest {
    @Override
    public String getName() {
      return "string";
    }

    @Override
    public boolean evaluate(Object var, JinjavaInterpreter interpreter, Object... args) {
      return var instanceof CharSequence || var instanceof com.hubspot.jinjava.objects.SafeString;
    }
  }

  /**
   * transformers' {% generation %}...{% endgeneration %}: marks the assistant's tokens for
   * training masks; when rendering a prompt it is just its body.
   */
  private static final class Generation implements Tag {
    private static final long serialVersionUID = 1L;

    @Override
    public String getName() {
      return "generation";
    }

    @Override
    public String interpret(TagNode tagNode, JinjavaInterpreter interpreter) {
      StringBuilder b = new StringBuilder();
      for (Node child : tagNode.getChildren()) {
        b.append(child.render(interpreter).getValue());
      }
      return b.toString();
    }
  }
}
