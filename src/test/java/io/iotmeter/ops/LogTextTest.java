package io.iotmeter.ops;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** Client text in one log line: no forged lines, no terminal escapes, bounded. */
class LogTextTest {

  @Test
  void controlCharactersAndSeparatorsAreEscapedAndTheRestKept() {
    assertThat(LogText.escaped("dc-meter-001")).isEqualTo("dc-meter-001");
    assertThat(LogText.escaped("a\nINFO forged line")).isEqualTo("a\\nINFO forged line");
    assertThat(LogText.escaped("\r\t\u001b[31mred\u0000")).isEqualTo("\\r\\t\\u001b[31mred\\u0000");
    assertThat(LogText.escaped("x\u2028y\u0085z\u007f")).isEqualTo("x\\u2028y\\u0085z\\u007f");
    assertThat(LogText.escaped("back\\slash")).as("so that an escape cannot be faked").isEqualTo("back\\\\slash");
    assertThat(LogText.escaped("zähler-ü")).isEqualTo("zähler-ü");
    assertThat(LogText.escaped(null)).isEqualTo("null");
  }

  @Test
  void longTextIsCut() {
    String escaped = LogText.escaped("x".repeat(10_000));
    assertThat(escaped).startsWith("x".repeat(LogText.MAX_CHARS)).endsWith("…(10000 characters)");
    assertThat(escaped.length()).isLessThan(LogText.MAX_CHARS + 30);
  }
}
