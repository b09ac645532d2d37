package io.kvw.worker.config;

import java.util.Objects;
import java.util.function.Function;

/**
 * One configuration key, declared once with its type (the parser), default, validation and
 * documentation, so the README table, the start-up errors and the defaults cannot drift apart.
 *
 * @param <T> the parsed type
 */
public final class ConfigKey<T> {
  private final String name;
  private final String defaultText;
  private final String doc;
  private final Function<String, T> parser;

  private ConfigKey(String name, String defaultText, String doc, Function<String, T> parser) {
    this.name = Objects.requireNonNull(name);
    this.defaultText = defaultText;
    this.doc = Objects.requireNonNull(doc);
    this.parser = Objects.requireNonNull(parser);
  }

  /**
   * Declares a key.
   *
   * @param defaultText the default as written in a properties file; null when the default is
   *     derived from other keys or the environment (the doc then says how)
   * @param parser turns the text into a value; throws {@link IllegalArgumentException} with a
   *     message that says what is allowed
   */
  public static <T> ConfigKey<T> of(String name, String defaultText, String doc,
      Function<String, T> parser) {
    return new ConfigKey<>(name, defaultText, doc, parser);
  }

  public String name() {
    return name;
  }

  /** The default as text, or null when derived. */
  public String defaultText() {
    return defaultText;
  }

  public String doc() {
    return doc;
  }

  T parse(String text) {
    try {
      return parser.apply(text.trim());
    } catch (IllegalArgumentException e) {
      throw new ConfigException(name, e.getMessage() + " (got '" + text.trim() + "')");
    }
  }

  /** Whether values of this key must never be printed (passwords, tokens, key files). */
  public boolean isSecret() {
    return Secrets.isSecretKey(name);
  }

  @Override
  public String toString() {
    return name;
  }
}
