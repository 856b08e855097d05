package io.iotmeter.boot;

import io.iotmeter.config.StartupException;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** logging.format: json gives one JSON object a line with the MDC; text comes back; anything else is refused. */
class LogFormatTest {

  private static JsonObject format(String value) {
    return new JsonObject().put("logging", new JsonObject().put("format", value));
  }

  @Test
  void jsonLinesCarryTheMessageAndTheDeviceId() {
    PrintStream original = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
    try {
      LogFormat.apply(format("json"));
      MDC.put("device_id", "dc-meter-001");
      LoggerFactory.getLogger("io.iotmeter.test").warn("quarantined message {}", 42);
      MDC.remove("device_id");
    } finally {
      LogFormat.apply(format("text"));
      System.setOut(original);
    }
    String line = captured.toString(StandardCharsets.UTF_8).lines().filter(l -> l.contains("quarantined message")).findFirst()
        .orElseThrow();
    JsonObject json = new JsonObject(line);
    assertThat(json.getString("level")).isEqualTo("WARN");
    assertThat(json.getString("loggerName")).isEqualTo("io.iotmeter.test");
    assertThat(json.getString("formattedMessage")).isEqualTo("quarantined message 42");
    assertThat(json.getJsonObject("mdc").getString("device_id")).isEqualTo("dc-meter-001");
  }

  @Test
  void anUnknownFormatIsRefused() {
    assertThatThrownBy(() -> LogFormat.apply(format("xml"))).isInstanceOf(StartupException.class).hasMessageContaining("logging.format");
  }
}
