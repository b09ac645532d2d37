package io.kvw.common;

/** The {@code error} object of an error result. The message never quotes the prompt. */
public record ErrorInfo(ErrorType type, String message) {}
