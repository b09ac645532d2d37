package io.kvw.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;

/**
 * Writes one scenario's section of BENCHMARKS.md, replacing the previous run of the same
 * scenario and leaving the others alone.
 */
final class Report {
  private Report() {}

  static void write(Path file, String scenario, String title, String command, String body)
      throws IOException {
    String begin = "<!-- scenario:" + scenario + " -->";
    String end = "<!-- /scenario:" + scenario + " -->";
    String section = begin + "\n## " + title + "\n\n"
        + "Command: `" + command + "`  \n"
        + "Machine: " + Machine.describe() + "  \n"
        + "Run: " + LocalDate.now() + "\n\n" + body.strip() + "\n" + end;
    String text = Files.exists(file) ? Files.readString(file) : header();
    int b = text.indexOf(begin);
    int e = text.indexOf(end);
    if (b >= 0 && e > b) {
      text = text.substring(0, b) + section + text.substring(e + end.length());
    } else {
      text = text.stripTrailing() + "\n\n" + section + "\n";
    }
    Files.writeString(file, text);
    System.out.println(section);
  }

  private static String header() {
    return "# Benchmarks\n\n"
        + "Written by the bench harness (`bench/`); each section is replaced when its scenario "
        + "runs again. The machine is shared and noisy: the claims are ratios measured within "
        + "one run; absolute figures are context.\n\n"
        + "Build first: `./mvnw -B -q package -DskipTests`.\n";
  }
}
