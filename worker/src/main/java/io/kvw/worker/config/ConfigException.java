package io.kvw.worker.config;

/**
 * Bad configuration. The message is one line that names the key, fit to print as the
 * worker's last words before it exits non-zero.
 */
public final class ConfigException extends RuntimeException {
  private final String key;

  public ConfigException(String key, String problem) {
    super(key + ": " + problem);
    this.key = key;
  }

  public String key() {
    return key;
  }
}
