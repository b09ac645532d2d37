package io.kvw.common;

/** One turn of a chat request, rendered with the model's chat template before generation. */
public record ChatMessage(String role, String content) {}
