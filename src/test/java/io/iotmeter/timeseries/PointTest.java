package io.iotmeter.timeseries;

import org.junit.jupiter.api.Test;

import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** What a point may hold: only what both stores can keep exactly. */
class PointTest {

  private static final Instant T = Instant.parse("2026-02-12T10:00:01Z");

  @Test
  void timeIsKeptToTheMicrosecond() {
    assertThat(new Point("d", "m", "V", 1, Instant.parse("2026-02-12T10:00:01.123456789Z")).time())
        .isEqualTo(Instant.parse("2026-02-12T10:00:01.123456Z"));
  }

  @Test
  void anEmptyUnitIsNoUnit() {
    assertThat(new Point("d", "pf", "", 0.9, T)).isEqualTo(new Point("d", "pf", null, 0.9, T));
    assertThat(new Point("d", "pf", "", 0.9, T).unit()).isNull();
  }

  @Test
  void refusesWhatNoStoreCanHold() {
    assertThatThrownBy(() -> new Point("d", "m", null, Double.NaN, T)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("finite");
    assertThatThrownBy(() -> new Point("d", "m", null, Double.POSITIVE_INFINITY, T)).isInstanceOf(IllegalArgumentException.class);
    assertThatThrownBy(() -> new Point("", "m", null, 1, T)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("deviceId");
    assertThatThrownBy(() -> new Point("d", null, null, 1, T)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("metric");
    assertThatThrownBy(() -> new Point("d", "m", "V\nx", 1, T)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("line break");
    assertThatThrownBy(() -> new Point("d", "m", null, 1, null)).isInstanceOf(NullPointerException.class);
    assertThatThrownBy(() -> new Point("d", "m", null, 1, Instant.parse("2263-01-01T00:00:00Z")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("range");
    assertThatThrownBy(() -> new Point("d", "m", null, 1, Instant.parse("1677-09-21T00:12:43.145224999Z")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("range");
  }

  @Test
  void aSampleAsJson() {
    assertThat(new MetricSample(Instant.parse("2026-02-12T10:00:01.250Z"), "dc-meter-001", "voltage_dc", 756.3).toJson().encode())
        .isEqualTo("{\"time\":\"2026-02-12T10:00:01.250Z\",\"device_id\":\"dc-meter-001\",\"metric\":\"voltage_dc\",\"value\":756.3}");
  }
}
