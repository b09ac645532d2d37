package io.kvw.common;

/**
 * The headers of a request record, as far as decoding needs them: the last value of a header
 * as UTF-8 text. Kept free of Kafka's types so {@code common} depends on Jackson alone.
 */
@FunctionalInterface
public interface RecordHeaders {
  /** A record without headers. */
  RecordHeaders NONE = name -> null;

  /** The last value of header {@code name} as UTF-8 text, or null when the record has none. */
  String lastValue(String name);
}
