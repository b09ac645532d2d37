package io.kvw.worker.openai;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.JsonSchema;
import com.networknt.schema.JsonSchemaFactory;
import com.networknt.schema.SpecVersion;
import com.networknt.schema.ValidationMessage;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Set;

/**
 * OpenAI's published output schemas (testkit's {@code openai-schemas/}, transcribed from
 * OpenAI's OpenAPI spec), and a check of one Batch output line against them: the line itself,
 * then its response body against the endpoint's object or OpenAI's error object.
 */
public final class OpenAiSchemas {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final JsonSchemaFactory FACTORY =
      JsonSchemaFactory.getInstance(SpecVersion.VersionFlag.V202012);
  static final JsonSchema BATCH_OUTPUT = load("batch.output.schema.json");
  static final JsonSchema CHAT = load("chat.completion.schema.json");
  static final JsonSchema COMPLETION = load("text_completion.schema.json");
  static final JsonSchema EMBEDDINGS = load("embedding.list.schema.json");
  static final JsonSchema ERROR = load("error.schema.json");

  private OpenAiSchemas() {}

  private static JsonSchema load(String name) {
    try (InputStream in = OpenAiSchemas.class.getResourceAsStream("/openai-schemas/" + name)) {
      return FACTORY.getSchema(JSON.readTree(in));
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** The schema of a successful body from {@code url}. */
  static JsonSchema bodyOf(String url) {
    return switch (url) {
      case "/v1/chat/completions" -> CHAT;
      case "/v1/completions" -> COMPLETION;
      case "/v1/embeddings" -> EMBEDDINGS;
      default -> throw new IllegalArgumentException(url);
    };
  }

  /** Asserts that {@code line} is a valid Batch output line for a request to {@code url}. */
  public static JsonNode assertValidLine(String line, String url) {
    JsonNode node;
    try {
      node = JSON.readTree(line);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    assertValid(BATCH_OUTPUT, node, line);
    JsonNode response = node.get("response");
    if (response != null && !response.isNull()) {
      JsonNode body = response.get("body");
      assertValid(response.get("status_code").intValue() == 200 ? bodyOf(url) : ERROR, body,
          line);
    }
    return node;
  }

  static void assertValid(JsonSchema schema, JsonNode node, String what) {
    Set<ValidationMessage> problems = schema.validate(node);
    assertThat(problems).as("schema problems of %s", what).isEmpty();
  }
}
