package io.iotmeter.journal;

import io.iotmeter.protocol.Category;
import org.junit.jupiter.api.Test;

import java.util.EnumSet;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The journal's sink bits: a message waits for every enabled sink that stores its category, and
 * for no other (a missing bit is a message that sink never stores; a stray bit one whose
 * partition is never dropped).
 */
class SinkKindTest {

  @Test
  void aMessageWaitsForEveryEnabledSinkOfItsCategoryAndNoOther() {
    List<SinkKind> all = List.of(SinkKind.values());
    assertThat(SinkKind.mask(Category.TELEMETRY, all)).isEqualTo((short) 7);
    for (Category category : EnumSet.complementOf(EnumSet.of(Category.TELEMETRY))) {
      assertThat(SinkKind.mask(category, all)).as(category.categoryName()).isEqualTo((short) 5);
    }
    assertThat(SinkKind.mask(Category.TELEMETRY, List.of(SinkKind.TIMESERIES, SinkKind.REGISTRY))).isEqualTo((short) 6);
    assertThat(SinkKind.mask(Category.HELLO, List.of(SinkKind.TIMESERIES))).isZero();
    assertThat(SinkKind.mask(Category.TELEMETRY, List.of())).isZero();
  }

  @Test
  void sinksAreNamedAsInTheConfiguration() {
    for (SinkKind sink : SinkKind.values()) {
      assertThat(SinkKind.fromConfigName(sink.configName())).isSameAs(sink);
    }
    assertThatThrownBy(() -> SinkKind.fromConfigName("influx")).hasMessageContaining("influx");
  }
}
