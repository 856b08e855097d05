package io.iotmeter.boot;

import io.iotmeter.config.Settings;
import io.iotmeter.config.StartupException;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.JsonEncoder;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.Appender;
import ch.qos.logback.core.OutputStreamAppender;
import io.vertx.core.json.JsonObject;
import org.slf4j.LoggerFactory;

import java.util.Iterator;

/**
 * {@code logging.format}: {@code text} (the default, for a terminal) or {@code json} — one JSON
 * object a line (logback's JsonEncoder: time, level, thread, logger, message, the MDC with
 * {@code correlation_id} and {@code device_id} where the platform knows them, the exception) for
 * log pipelines.
 */
public final class LogFormat {

  private LogFormat() {
  }

  public static void apply(JsonObject config) {
    String format = Settings.of(config, "logging").text("format");
    switch (format) {
      case "text" -> encoder(false);
      case "json" -> encoder(true);
      default -> throw new StartupException("logging.format must be text or json, not '" + format + "'");
    }
  }

  /** The pattern of logback.xml, for going back to text. */
  static final String TEXT_PATTERN = "%d{HH:mm:ss.SSS} %-5level [%thread] %logger{36} - %msg%n";

  private static void encoder(boolean json) {
    if (!(LoggerFactory.getILoggerFactory() instanceof LoggerContext context)) {
      return; // another SLF4J backend: its own configuration decides
    }
    for (Iterator<Appender<ILoggingEvent>> it = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME).iteratorForAppenders();
         it.hasNext(); ) {
      if (it.next() instanceof OutputStreamAppender<ILoggingEvent> appender) {
        if (!json && !(appender.getEncoder() instanceof JsonEncoder)) {
          continue; // text already
        }
        ch.qos.logback.core.encoder.Encoder<ILoggingEvent> encoder;
        if (json) {
          // The message as read (not its pattern and arguments), without the context's noise.
          JsonEncoder lines = new JsonEncoder();
          lines.setWithFormattedMessage(true);
          lines.setWithMessage(false);
          lines.setWithArguments(false);
          lines.setWithContext(false);
          lines.setWithSequenceNumber(false);
          lines.setWithNanoseconds(false);
          encoder = lines;
        } else {
          ch.qos.logback.classic.encoder.PatternLayoutEncoder text = new ch.qos.logback.classic.encoder.PatternLayoutEncoder();
          text.setPattern(TEXT_PATTERN);
          encoder = text;
        }
        encoder.setContext(context);
        encoder.start();
        appender.stop();
        appender.setEncoder(encoder);
        appender.start();
      }
    }
  }
}
