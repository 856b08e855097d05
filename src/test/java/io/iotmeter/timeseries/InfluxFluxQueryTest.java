package io.iotmeter.timeseries;

import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.Optional;

import static org.assertj.core.api.Assertions.assertThat;

/** The Flux text sent to InfluxDB: literals that hold exactly the caller's value. */
class InfluxFluxQueryTest {

  @Test
  void ordinaryTextIsQuotedUnchanged() {
    assertThat(FluxQuery.stringLiteral("dc-meter-001")).isEqualTo("\"dc-meter-001\"");
    assertThat(FluxQuery.stringLiteral("")).isEqualTo("\"\"");
    assertThat(FluxQuery.stringLiteral("Zähler 7 €")).isEqualTo("\"Zähler 7 €\"");
  }

  @Test
  void quotesAndBackslashesAreEscaped() {
    assertThat(FluxQuery.stringLiteral("a\"b")).isEqualTo("\"a\\\"b\"");
    assertThat(FluxQuery.stringLiteral("a\\")).isEqualTo("\"a\\\\\"");
    // An escaped backslash must not turn the following quote into an escaped one.
    assertThat(FluxQuery.stringLiteral("\\\"")).isEqualTo("\"\\\\\\\"\"");
  }

  @Test
  void interpolationCannotStart() {
    assertThat(FluxQuery.stringLiteral("${r._value}")).isEqualTo("\"\\${r._value}\"");
    assertThat(FluxQuery.stringLiteral("cost $5 {x}")).isEqualTo("\"cost $5 {x}\"");
    assertThat(FluxQuery.stringLiteral("$")).isEqualTo("\"$\"");
  }

  @Test
  void lineBreaksAndControlCharactersAreEscaped() {
    assertThat(FluxQuery.stringLiteral("a\nb\rc\td")).isEqualTo("\"a\\nb\\rc\\td\"");
    assertThat(FluxQuery.stringLiteral("nul\u0000bel\u0007del\u007f")).isEqualTo("\"nul\\x00bel\\x07del\\x7f\"");
  }

  @Test
  void anInjectionAttemptBecomesOneLiteral() {
    assertThat(FluxQuery.stringLiteral("x\" or true or r.device_id == \""))
        .isEqualTo("\"x\\\" or true or r.device_id == \\\"\"");
  }

  @Test
  void theQueryForADeviceAndOptionallyAMetric() {
    Instant start = Instant.parse("2026-02-12T10:00:00Z");
    Instant stop = Instant.parse("2026-02-12T11:00:00.123456789Z");

    assertThat(FluxQuery.forDevice("iot-metrics", "dc-meter-001", start, stop, Optional.of("voltage_dc"))).isEqualTo("""
        from(bucket: "iot-metrics")
          |> range(start: 2026-02-12T10:00:00Z, stop: 2026-02-12T11:00:00.123456789Z)
          |> filter(fn: (r) => r._measurement == "iot_telemetry" and r._field == "value" and r.device_id == "dc-meter-001" and r.metric == "voltage_dc")
          |> keep(columns: ["_time", "_value", "device_id", "metric"])""");
    assertThat(FluxQuery.forDevice("iot-metrics", "dc-meter-001", start, stop, Optional.empty()))
        .contains("r.device_id == \"dc-meter-001\")\n")
        .doesNotContain("metric ==");
    // A bounded read cuts every series (Flux's limit applies per table), merges them in order and cuts the whole again.
    assertThat(FluxQuery.forDevice("iot-metrics", "dc-meter-001", start, stop, Optional.empty(), 100_001))
        .endsWith("|> keep(columns: [\"_time\", \"_value\", \"device_id\", \"metric\"])\n  |> limit(n: 100001)\n  |> group()"
            + "\n  |> sort(columns: [\"_time\", \"metric\"])\n  |> limit(n: 100001)");
  }

  @Test
  void timesBeyondWhatInfluxDbStoresAreClampedToItsLimits() {
    assertThat(FluxQuery.timeLiteral(Instant.parse("2026-02-12T10:00:00.500Z"))).isEqualTo("2026-02-12T10:00:00.500Z");
    assertThat(FluxQuery.timeLiteral(Instant.EPOCH.minusSeconds(400L * 365 * 86_400))).isEqualTo("1677-09-21T00:12:43.145225Z");
    assertThat(FluxQuery.timeLiteral(Instant.MAX)).isEqualTo("2262-04-11T23:47:16.854775Z");
  }
}
