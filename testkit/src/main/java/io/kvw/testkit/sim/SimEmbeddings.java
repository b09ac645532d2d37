package io.kvw.testkit.sim;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Random;

/**
 * The simulator as an embedding model ({@code is_generation=false}): every {@code Embed} call
 * gets a vector derived from its token ids alone, L2-normalised as vLLM's embedding pooler
 * returns it, so tests can compute the exact answer with {@link #vector}.
 *
 * @param dim the model's embedding dimension
 * @param matryoshka whether the model's {@code config.json} says {@code is_matryoshka}
 *     (then clients may ask for fewer dimensions)
 */
record SimEmbeddings(int dim, boolean matryoshka) {

  SimEmbeddings {
    if (dim < 1) {
      throw new IllegalArgumentException("embedding dimension must be at least 1, got " + dim);
    }
  }

  /**
   * The embedding of {@code ids}: {@code dim} Gaussian values from a generator seeded by the
   * ids ({@link Random} is specified, so this is the same on every JVM), L2-normalised.
   */
  static float[] vector(int[] ids, int dim) {
    Random random = new Random(Arrays.hashCode(ids) * 31L + ids.length);
    double[] raw = new double[dim];
    double norm = 0;
    for (int i = 0; i < dim; i++) {
      raw[i] = random.nextGaussian();
      norm += raw[i] * raw[i];
    }
    norm = Math.sqrt(norm);
    float[] out = new float[dim];
    for (int i = 0; i < dim; i++) {
      out[i] = (float) (raw[i] / norm);
    }
    return out;
  }

  /** The model's {@code config.json}, as GetTokenizer bundles it with the tokenizer. */
  byte[] configJson() {
    return ("{\"architectures\": [\"SimEmbeddingModel\"], \"hidden_size\": " + dim
        + (matryoshka ? ", \"is_matryoshka\": true" : "") + "}")
        .getBytes(StandardCharsets.UTF_8);
  }
}
