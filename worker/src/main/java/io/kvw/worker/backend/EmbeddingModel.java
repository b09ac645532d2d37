package io.kvw.worker.backend;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the worker knows of the embedding model it serves: whether it may return fewer
 * dimensions than it has. vLLM's gRPC {@code EmbedRequest} has no {@code dimensions}, so the
 * worker applies the rule of vLLM's pooler itself: only a Matryoshka model (its
 * {@code config.json} has {@code is_matryoshka: true} or a {@code matryoshka_dimensions} list,
 * as vLLM's {@code ModelConfig.is_matryoshka} reads it) may be asked for fewer dimensions, and
 * then only for a listed size when it lists them; the vector is cut to the first
 * {@code dimensions} values and normalised again.
 *
 * @param name the served model name, as vLLM's messages quote it
 * @param matryoshka whether the model allows fewer dimensions
 * @param dimensions the sizes it allows, or null for any
 */
public record EmbeddingModel(String name, boolean matryoshka, List<Integer> dimensions) {

  /**
   * Reads {@code config.json} in the model's tokenizer directory (vLLM's GetTokenizer bundles
   * it); a model without one is not a Matryoshka model.
   */
  public static EmbeddingModel fromConfig(String name, Path tokenizerDirectory)
      throws IOException {
    Path config = tokenizerDirectory.resolve("config.json");
    if (!Files.isRegularFile(config)) {
      return new EmbeddingModel(name, false, null);
    }
    JsonNode root = new ObjectMapper().readTree(config.toFile());
    JsonNode listed = root.path("matryoshka_dimensions");
    List<Integer> dims = null;
    if (listed.isArray()) {
      dims = new ArrayList<>();
      for (JsonNode d : listed) {
        dims.add(d.asInt());
      }
    }
    return new EmbeddingModel(name, dims != null || root.path("is_matryoshka").asBoolean(false),
        dims == null ? null : List.copyOf(dims));
  }

  /** For the start-up log: what the model is and which dimensions it takes. */
  public String describe() {
    return "an embedding model (is_generation=false; generation requests are refused; "
        + (!matryoshka ? "not a Matryoshka model: dimensions are refused"
            : dimensions == null ? "Matryoshka: any dimensions"
            : "Matryoshka: dimensions " + dimensions) + ")";
  }

  /** Why {@code requested} dimensions are refused, in vLLM's words; null when allowed. */
  public String refusal(int requested) {
    if (!matryoshka) {
      return "Model \"" + name + "\" does not support matryoshka representation, changing "
          + "output dimensions will lead to poor results.";
    }
    if (dimensions != null && !dimensions.contains(requested)) {
      return "Model \"" + name + "\" only supports " + dimensions + " matryoshka dimensions, "
          + "use other output dimensions will lead to poor results.";
    }
    return null;
  }

  /**
   * The first {@code dimensions} values of {@code vector}, L2-normalised again, as vLLM's
   * pooler cuts and then normalises; the vector itself when it has no more values than that.
   */
  public static float[] shorten(float[] vector, int dimensions) {
    if (dimensions >= vector.length) {
      return vector;
    }
    double norm = 0;
    for (int i = 0; i < dimensions; i++) {
      norm += (double) vector[i] * vector[i];
    }
    // F.normalize's epsilon: a zero vector stays zero instead of dividing by zero
    double scale = 1 / Math.max(Math.sqrt(norm), 1e-12);
    float[] out = new float[dimensions];
    for (int i = 0; i < dimensions; i++) {
      out[i] = (float) (vector[i] * scale);
    }
    return out;
  }
}
