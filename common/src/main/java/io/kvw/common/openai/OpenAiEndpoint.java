package io.kvw.common.openai;

/**
 * The OpenAI endpoints a request record may speak, named by their URL path: the {@code url} of
 * an OpenAI Batch line, or the value of the {@code kvw.api} header on a bare body.
 */
public enum OpenAiEndpoint {
  CHAT_COMPLETIONS("/v1/chat/completions"),
  COMPLETIONS("/v1/completions"),
  EMBEDDINGS("/v1/embeddings");

  private final String path;

  OpenAiEndpoint(String path) {
    this.path = path;
  }

  /** The URL path, e.g. {@code /v1/chat/completions}. */
  public String path() {
    return path;
  }

  /** The endpoint with URL path {@code path}, or null when there is none. */
  public static OpenAiEndpoint ofPath(String path) {
    for (OpenAiEndpoint e : values()) {
      if (e.path.equals(path)) {
        return e;
      }
    }
    return null;
  }

  /** The accepted paths, for error messages. */
  public static String paths() {
    return CHAT_COMPLETIONS.path + ", " + COMPLETIONS.path + " or " + EMBEDDINGS.path;
  }
}
