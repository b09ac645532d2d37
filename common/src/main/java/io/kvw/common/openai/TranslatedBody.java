package io.kvw.common.openai;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What an OpenAI body became: CONTRACT.md's request JSON for {@code RequestCodec} to validate,
 * or the refusal naming the field the worker cannot honour.
 *
 * @param request the request JSON, or null when refused
 * @param call how the result is to be written
 * @param refusal the message naming the field, or null when translated
 * @param metadata the body's metadata object to echo on a refusal, or null
 */
record TranslatedBody(ObjectNode request, OpenAiCall call, String refusal, JsonNode metadata) {}
