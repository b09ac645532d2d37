package io.kvw.worker.observe.trace;

import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapSetter;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

/** Reads and writes trace context as Kafka record headers (UTF-8 values). */
final class KafkaHeaders {
  private KafkaHeaders() {}

  static final TextMapGetter<Headers> GETTER = new TextMapGetter<>() {
    @Override
    public Iterable<String> keys(Headers headers) {
      List<String> keys = new ArrayList<>();
      for (Header h : headers) {
        keys.add(h.key());
      }
      return keys;
    }

    @Override
    public String get(Headers headers, String key) {
      if (headers == null) {
        return null;
      }
      Header h = headers.lastHeader(key);
      return h == null || h.value() == null ? null : new String(h.value(),
          StandardCharsets.UTF_8);
    }
  };

  /** Replaces the header: a record carries one trace context, never two. */
  static final TextMapSetter<Headers> SETTER = (headers, key, value) -> {
    headers.remove(key);
    headers.add(key, value.getBytes(StandardCharsets.UTF_8));
  };
}
