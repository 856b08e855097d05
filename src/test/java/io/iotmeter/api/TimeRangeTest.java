package io.iotmeter.api;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TimeRangeTest {

  private static final Instant NOW = Instant.parse("2026-02-12T12:00:00Z");

  @Test
  void defaultsToTheLastHour() {
    assertThat(TimeRange.parse(null, null, NOW)).isEqualTo(new TimeRange(NOW.minus(Duration.ofHours(1)), NOW));
  }

  @Test
  void relativeDurationsCountBackFromNow() {
    assertThat(TimeRange.parseTime("start", "-30m", NOW)).isEqualTo(Instant.parse("2026-02-12T11:30:00Z"));
    assertThat(TimeRange.parseTime("start", "-7d", NOW)).isEqualTo(Instant.parse("2026-02-05T12:00:00Z"));
    assertThat(TimeRange.parseTime("start", "-2w", NOW)).isEqualTo(Instant.parse("2026-01-29T12:00:00Z"));
    assertThat(TimeRange.parseTime("start", "-1500ms", NOW)).isEqualTo(Instant.parse("2026-02-12T11:59:58.500Z"));
  }

  @Test
  void isoInstantsNeedAZone() {
    assertThat(TimeRange.parseTime("stop", "2026-02-12T13:00:00+01:00", NOW)).isEqualTo(NOW);
    assertThatThrownBy(() -> TimeRange.parseTime("stop", "2026-02-12T13:00:00", NOW)).hasMessageContaining("stop");
  }

  @Test
  void emptyOrReversedRangesAreRefused() {
    assertThatThrownBy(() -> TimeRange.parse("now()", "-1h", NOW)).hasMessageContaining("before");
    assertThatThrownBy(() -> TimeRange.parse("-1h", "-1h", NOW)).hasMessageContaining("before");
  }
}
