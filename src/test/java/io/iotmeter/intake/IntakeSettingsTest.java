package io.iotmeter.intake;

import io.iotmeter.config.StartupException;
import io.iotmeter.journal.SinkKind;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class IntakeSettingsTest {

  private static JsonObject intake(JsonObject section) {
    return new JsonObject().put("intake", section);
  }

  @Test
  void theDefaultsComeFromTheYamlAndAutoFollowsSecurity() {
    IntakeSettings secured = IntakeSettings.of(new JsonObject(), true);
    assertThat(secured.sinks()).containsExactly(SinkKind.ARCHIVE, SinkKind.TIMESERIES, SinkKind.REGISTRY);
    assertThat(secured.maxQueueWait()).isEqualTo(Duration.ofSeconds(2));
    assertThat(secured.registerUnknown()).as("auto, secured: refuse unknown devices").isFalse();
    assertThat(IntakeSettings.of(new JsonObject(), false).registerUnknown()).as("auto, open: the reference registers them").isTrue();
    assertThat(IntakeSettings.of(intake(new JsonObject().put("unknown_devices", "register")), true).registerUnknown()).isTrue();
    assertThat(IntakeSettings.of(intake(new JsonObject().put("max_batch", 7)), true).maxBatch()).isEqualTo(7);
  }

  @Test
  void anUnknownChoiceIsAStartupError() {
    assertThatThrownBy(() -> IntakeSettings.of(intake(new JsonObject().put("unknown_devices", "sometimes")), true))
        .isInstanceOf(StartupException.class).hasMessageContaining("intake.unknown_devices must be register, reject or auto");
  }
}
