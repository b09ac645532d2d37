package io.kvw.common;

import com.fasterxml.jackson.databind.JsonNode;
import io.kvw.common.openai.OpenAiCall;

/** What {@link RequestCodec} made of a record: a request, or the reason it was refused. */
public sealed interface Decoded permits Decoded.Accepted, Decoded.Rejected {

  /** A valid request. */
  record Accepted(InferenceRequest request) implements Decoded {}

  /**
   * A record that breaks the contract.
   *
   * @param id the record's own id when it could be read and is valid, else the default id
   * @param metadata the record's metadata object when it could be read, else null
   * @param message which field broke which rule; never quotes the prompt
   * @param openAi the OpenAI call the record is, when it could be read as one (its error
   *     result is then written in OpenAI's shape), else null
   */
  record Rejected(String id, JsonNode metadata, String message, OpenAiCall openAi)
      implements Decoded {

    public Rejected(String id, JsonNode metadata, String message) {
      this(id, metadata, message, null);
    }
  }
}
