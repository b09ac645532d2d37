package io.kvw.worker.backend;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which dimensions a model allows, read from its config.json as vLLM reads it. */
class EmbeddingModelTest {
  @TempDir
  Path dir;

  private EmbeddingModel model(String configJson) throws Exception {
    if (configJson != null) {
      Files.writeString(dir.resolve("config.json"), configJson);
    }
    return EmbeddingModel.fromConfig("m", dir);
  }

  @Test
  void withoutConfigOrFlagTheModelIsNotMatryoshka() throws Exception {
    assertThat(model(null).matryoshka()).isFalse();
    EmbeddingModel plain = model("{\"hidden_size\": 1024}");
    assertThat(plain.matryoshka()).isFalse();
    assertThat(plain.refusal(512)).isEqualTo("Model \"m\" does not support matryoshka "
        + "representation, changing output dimensions will lead to poor results.");
  }

  @Test
  void isMatryoshkaAllowsAnyDimensions() throws Exception {
    EmbeddingModel m = model("{\"is_matryoshka\": true}");
    assertThat(m.refusal(7)).isNull();
    assertThat(m.dimensions()).isNull();
  }

  @Test
  void aListOfDimensionsAllowsOnlyThose() throws Exception {
    EmbeddingModel m = model("{\"matryoshka_dimensions\": [64, 128, 256]}");
    assertThat(m.matryoshka()).isTrue();
    assertThat(m.dimensions()).isEqualTo(List.of(64, 128, 256));
    assertThat(m.refusal(128)).isNull();
    assertThat(m.refusal(100)).isEqualTo("Model \"m\" only supports [64, 128, 256] matryoshka "
        + "dimensions, use other output dimensions will lead to poor results.");
  }

  @Test
  void shortenKeepsTheFirstValuesAndNormalisesThem() {
    assertThat(EmbeddingModel.shorten(new float[] {3, 4, 12}, 2)).containsExactly(0.6f, 0.8f);
    float[] v = {0.5f, 0.5f};
    assertThat(EmbeddingModel.shorten(v, 2)).isSameAs(v);
    assertThat(EmbeddingModel.shorten(new float[] {0, 0, 1}, 2)).containsExactly(0f, 0f);
  }
}
