package io.kvw.worker.config;

/**
 * Prints the README's config table from the key declarations, so the two cannot drift apart
 * (a test checks that the README holds exactly this table).
 */
public final class ConfigDocs {
  private ConfigDocs() {}

  public static String markdownTable() {
    StringBuilder b = new StringBuilder();
    b.append("| key | default | environment | meaning |\n");
    b.append("| --- | --- | --- | --- |\n");
    for (ConfigKey<?> k : WorkerConfig.KEYS) {
      String dflt = k.defaultText() == null ? "derived"
          : k.defaultText().isEmpty() ? "(empty)" : "`" + k.defaultText() + "`";
      b.append("| `").append(k.name()).append("` | ").append(dflt).append(" | `")
          .append(WorkerConfig.envName(k.name())).append("` | ").append(k.doc()).append(" |\n");
    }
    return b.toString();
  }

  public static void main(String[] args) {
    System.out.print(markdownTable());
  }
}
