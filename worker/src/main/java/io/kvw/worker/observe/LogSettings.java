package io.kvw.worker.observe;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import io.kvw.worker.config.WorkerConfig;
import java.util.Iterator;
import net.logstash.logback.encoder.LogstashEncoder;
import org.slf4j.LoggerFactory;

/**
 * Applies {@code log.level} and {@code log.format}. With {@code json}, the console appenders
 * of the root logger write one flat JSON object per line (logstash-logback-encoder: {@code @timestamp},
 * {@code level}, {@code logger_name}, {@code thread_name}, {@code message},
 * {@code stack_trace}, and the MDC's record fields at the top level). The readable text
 * format of {@code logback.xml} stays the default. Applied once the config is read; lines
 * before it (there are none about records) keep the text format.
 */
public final class LogSettings {
  private LogSettings() {}

  /** Sets the level of the worker's own loggers ({@code io.kvw}) and the line format. */
  public static void apply(WorkerConfig.LogLevel level, WorkerConfig.LogFormat format) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return; // another SLF4J binding: its own configuration rules
    }
    context.getLogger("io.kvw").setLevel(Level.toLevel(level.name()));
    if (format != WorkerConfig.LogFormat.JSON) {
      return;
    }
    Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
    for (Iterator<Appender<ILoggingEvent>> it = root.iteratorForAppenders(); it.hasNext(); ) {
      if (it.next() instanceof OutputStreamAppender<ILoggingEvent> appender) {
        LogstashEncoder json = new LogstashEncoder();
        json.setContext(context);
        json.setIncludeContext(false); // the logger context's name and birth time: noise
        json.start();
        appender.stop();
        appender.setEncoder(json);
        appender.start();
      }
    }
  }
}
