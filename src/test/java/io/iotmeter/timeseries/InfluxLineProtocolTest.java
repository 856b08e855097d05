package io.iotmeter.timeseries;

import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;

/** The exact line-protocol text of points, as both InfluxDB and QuestDB receive it. */
class InfluxLineProtocolTest {

  private static final Instant T = Instant.parse("2026-02-12T10:00:01Z");

  @Test
  void aPointWithAUnit() {
    assertThat(LineProtocol.line(new Point("dc-meter-001", "voltage_dc", "V", 756.3, T)))
        .isEqualTo("iot_telemetry,device_id=dc-meter-001,metric=voltage_dc,unit=V value=756.3 1770890401000000000");
  }

  @Test
  void aPointWithoutAUnitHasNoUnitTag() {
    String expected = "iot_telemetry,device_id=ac-meter-001,metric=pf value=0.97 1770890401000000000";
    assertThat(LineProtocol.line(new Point("ac-meter-001", "pf", null, 0.97, T))).isEqualTo(expected);
    assertThat(LineProtocol.line(new Point("ac-meter-001", "pf", "", 0.97, T))).isEqualTo(expected);
  }

  @Test
  void tagValuesEscapeCommaEqualsSpaceAndBackslash() {
    assertThat(LineProtocol.escapeTagValue("Cel")).isEqualTo("Cel");
    assertThat(LineProtocol.escapeTagValue("deg C")).isEqualTo("deg\\ C");
    assertThat(LineProtocol.escapeTagValue("a,b=c")).isEqualTo("a\\,b\\=c");
    // A trailing backslash left alone would escape the space that ends the tag set.
    assertThat(LineProtocol.escapeTagValue("x\\")).isEqualTo("x\\\\");
    assertThat(LineProtocol.escapeTagValue("\"quoted\"")).isEqualTo("\"quoted\"");
    assertThat(LineProtocol.line(new Point("dc meter,1", "m=1", "k W", 1, T)))
        .isEqualTo("iot_telemetry,device_id=dc\\ meter\\,1,metric=m\\=1,unit=k\\ W value=1.0 1770890401000000000");
  }

  @Test
  void valuesAreFloatsInTheirShortestExactForm() {
    assertThat(valueOf(1)).isEqualTo("1.0");
    assertThat(valueOf(-0.5)).isEqualTo("-0.5");
    assertThat(valueOf(1.0E-7)).isEqualTo("1.0E-7");
    assertThat(valueOf(25_000.125)).isEqualTo("25000.125");
    assertThat(Double.parseDouble(valueOf(0.1 + 0.2))).isEqualTo(0.1 + 0.2);
  }

  @Test
  void timestampsAreNanosecondsKeepingMilliAndMicroseconds() {
    assertThat(timeOf(Instant.parse("2026-02-12T10:00:01.250Z"))).isEqualTo("1770890401250000000");
    assertThat(timeOf(Instant.parse("2026-02-12T10:00:01.000123Z"))).isEqualTo("1770890401000123000");
    assertThat(timeOf(Instant.parse("2026-02-12T10:00:01.000123999Z"))).isEqualTo("1770890401000123000");
    assertThat(timeOf(Instant.parse("1969-12-31T23:59:59.999999Z"))).isEqualTo("-1000");
    assertThat(timeOf(Point.EARLIEST)).isEqualTo("-9223372036854775000");
    assertThat(timeOf(Point.LATEST)).isEqualTo("9223372036854775000");
  }

  private static String valueOf(double value) {
    String line = LineProtocol.line(new Point("d", "m", null, value, T));
    return line.substring(line.indexOf(" value=") + 7, line.lastIndexOf(' '));
  }

  private static String timeOf(Instant time) {
    String line = LineProtocol.line(new Point("d", "m", null, 1, time));
    return line.substring(line.lastIndexOf(' ') + 1);
  }
}
