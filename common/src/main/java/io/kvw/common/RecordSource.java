package io.kvw.common;

/** Where a request record was read from; echoed in its result as {@code source}. */
public record RecordSource(String topic, int partition, long offset) {

  /** The default request id of a record that carries none. */
  public String defaultRequestId() {
    return topic + "-" + partition + "-" + offset;
  }
}
