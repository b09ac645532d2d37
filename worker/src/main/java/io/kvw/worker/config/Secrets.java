package io.kvw.worker.config;

import java.util.Locale;

/** Decides which config values are secrets, so they are redacted wherever config is printed. */
public final class Secrets {
  public static final String REDACTED = "[redacted]";

  private Secrets() {}

  /** Any key naming a password, secret, token, credential, JAAS config or private key. */
  public static boolean isSecretKey(String key) {
    String k = key.toLowerCase(Locale.ROOT);
    return k.contains("password") || k.contains("secret") || k.contains("token")
        && !k.contains("tokenizer") || k.contains("credential") || k.contains("jaas")
        || k.contains("key.file") || k.contains("key-file") || k.contains("private") || k.endsWith(".key")
        || k.contains("keystore.key");
  }

  public static String redact(String key, String value) {
    return isSecretKey(key) ? REDACTED : value;
  }
}
