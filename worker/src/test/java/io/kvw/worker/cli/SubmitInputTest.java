package io.kvw.worker.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How {@code submit} reads its input lines and what it shows of a result. */
class SubmitInputTest {
  @TempDir
  Path dir;

  private static String text(SubmitInput.Line l) {
    return new String(l.value(), StandardCharsets.UTF_8);
  }

  @Test
  void linesKeepTheirIdsOrGetOneStableAcrossReads() throws Exception {
    Path in = dir.resolve("in.jsonl");
    Files.write(in, List.of(
        "Tell me a joke",
        "",
        "{\"id\":\"mine\",\"prompt\":\"x\"}",
        "{\"prompt\":\"no id\"}",
        "{\"custom_id\":\"batch-1\",\"method\":\"POST\",\"url\":\"/v1/chat/completions\","
            + "\"body\":{}}",
        "{\"method\":\"POST\",\"url\":\"/v1/completions\",\"body\":{\"prompt\":\"p\"}}",
        "[1, 2]"));
    List<SubmitInput.Line> lines = SubmitInput.read(in);
    assertThat(lines).extracting(SubmitInput.Line::number).containsExactly(1, 3, 4, 5, 6, 7);
    assertThat(lines.get(0).id()).matches("line-1-[0-9a-f]{8}");
    assertThat(text(lines.get(0))).isEqualTo("{\"id\":\"" + lines.get(0).id()
        + "\",\"prompt\":\"Tell me a joke\"}");
    assertThat(lines.get(1).id()).isEqualTo("mine");
    assertThat(text(lines.get(1))).isEqualTo("{\"id\":\"mine\",\"prompt\":\"x\"}");
    assertThat(text(lines.get(2))).startsWith("{\"id\":\"line-4-");
    assertThat(lines.get(3).id()).isEqualTo("batch-1");
    assertThat(text(lines.get(4))).startsWith("{\"custom_id\":\"line-6-");
    assertThat(text(lines.get(5))).contains("\"prompt\":\"[1, 2]\"");
    // the same file read again gives the same ids; another line content another id
    assertThat(SubmitInput.read(in)).extracting(SubmitInput.Line::id)
        .isEqualTo(lines.stream().map(SubmitInput.Line::id).toList());
    assertThat(SubmitInput.line(1, "Tell me two jokes").id()).isNotEqualTo(lines.get(0).id());
  }

  @Test
  void twoLinesWithOneIdAreRefusedNamingBoth() throws Exception {
    Path in = dir.resolve("dup.jsonl");
    Files.write(in, List.of("{\"id\":\"a\",\"prompt\":\"x\"}", "{\"id\":\"a\",\"prompt\":\"y\"}"));
    assertThatThrownBy(() -> SubmitInput.read(in)).hasMessageContaining("line 2")
        .hasMessageContaining("line 1");
  }

  @Test
  void resultLinesShowTheTextOnlyWhenAsked() {
    ResultView ok = ResultView.parse(("{\"id\":\"r1\",\"text\":\"secret answer\",\"usage\":"
        + "{\"prompt_tokens\":3,\"completion_tokens\":2},\"timing\":{\"total_ms\":41}}")
        .getBytes(StandardCharsets.UTF_8));
    assertThat(ok.line(false)).isEqualTo("r1  ok  in=3 out=2  41 ms");
    assertThat(ok.line(true)).isEqualTo("r1  ok  in=3 out=2  41 ms  \"secret answer\"");
    ResultView error = ResultView.parse("{\"id\":\"r2\",\"error\":{\"type\":\"expired\","
        + "\"message\":\"late\"}}");
    assertThat(error.line(true)).isEqualTo("r2  error:expired");
    ResultView batch = ResultView.parse("{\"id\":\"batch_req_1\",\"custom_id\":\"c-1\","
        + "\"response\":{\"status_code\":200,\"body\":{\"choices\":[{\"message\":{\"content\":"
        + "\"hi\"}}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":1}}},\"error\":null}");
    assertThat(batch.line(true)).isEqualTo("c-1  ok  in=5 out=1  \"hi\"");
  }

  @Test
  void aLineNamesItsModelForRoutingAsTheBodyOrOurRequestGivesIt() {
    assertThat(SubmitInput.line(1, "{\"custom_id\":\"c\",\"url\":\"/v1/embeddings\","
        + "\"body\":{\"model\":\"bge\",\"input\":\"x\"}}").model()).isEqualTo("bge");
    assertThat(SubmitInput.line(2, "{\"id\":\"i\",\"model\":\"qwen\",\"prompt\":\"x\"}")
        .model()).isEqualTo("qwen");
    assertThat(SubmitInput.line(3, "{\"prompt\":\"no model\"}").model()).isNull();
    assertThat(SubmitInput.line(4, "a bare prompt").model()).isNull();
  }
}
