package io.kvw.worker.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.kvw.client.CorrelationId;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The requests of a {@code submit} input file, one per non-blank line, in file order. A line
 * that is a JSON object is sent as it is (an OpenAI Batch line, or one of our requests); any
 * other line is a bare prompt and becomes {@code {"id", "prompt"}}. A line without an id gets
 * {@code line-<number>-<first 8 hex of the line's SHA-256>}: stable across reruns of the same
 * file, so a rerun recognises what it already answered. (A Batch line gets it as
 * {@code custom_id}, our request as {@code id}.)
 */
final class SubmitInput {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  /**
   * One request to send.
   *
   * @param model the model the line names (a Batch line's {@code body.model}, or our
   *     request's {@code model}), or null; it picks the requests topic
   */
  record Line(int number, String id, byte[] value, String model) {}

  /** The input breaks a rule (e.g. two lines with one id). */
  static final class BadInput extends Exception {
    BadInput(String message) {
      super(message);
    }
  }

  private SubmitInput() {}

  static List<Line> read(Path file) throws IOException, BadInput {
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    List<Line> out = new ArrayList<>(lines.size());
    Map<String, Integer> seen = new HashMap<>();
    for (int i = 0; i < lines.size(); i++) {
      String text = lines.get(i);
      if (text.isBlank()) {
        continue;
      }
      Line line = line(i + 1, text);
      Integer earlier = seen.putIfAbsent(line.id(), line.number());
      if (earlier != null) {
        throw new BadInput("line " + line.number() + " repeats the id " + line.id()
            + " of line " + earlier + ": every request needs its own id");
      }
      out.add(line);
    }
    return out;
  }

  static Line line(int number, String text) {
    JsonNode node;
    try {
      node = MAPPER.readTree(text);
    } catch (IOException e) {
      node = null;
    }
    if (node != null && node.isObject()) {
      String id = CorrelationId.of(node);
      JsonNode model = isBatchLine(node) ? node.path("body").get("model") : node.get("model");
      String modelName = model != null && model.isTextual() ? model.textValue() : null;
      if (id != null) {
        return new Line(number, id, text.getBytes(StandardCharsets.UTF_8), modelName);
      }
      id = stableId(number, text);
      ObjectNode withId = MAPPER.createObjectNode();
      withId.put(isBatchLine(node) ? "custom_id" : "id", id);
      withId.setAll((ObjectNode) node);
      return new Line(number, id, bytes(withId), modelName);
    }
    String id = stableId(number, text);
    ObjectNode request = MAPPER.createObjectNode().put("id", id).put("prompt", text);
    return new Line(number, id, bytes(request), null);
  }

  /** An OpenAI Batch line: {@code {"custom_id", "method", "url", "body"}}. */
  private static boolean isBatchLine(JsonNode node) {
    return node.has("body") && node.has("url");
  }

  static String stableId(int number, String text) {
    try {
      byte[] sha = MessageDigest.getInstance("SHA-256").digest(
          text.getBytes(StandardCharsets.UTF_8));
      return "line-" + number + "-" + HexFormat.of().formatHex(sha, 0, 4);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static byte[] bytes(JsonNode node) {
    try {
      return MAPPER.writeValueAsBytes(node);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }
}
