package io.iotmeter.protocol;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CommandParamsTest {

  private static JsonObject broker(String host, Object port) {
    return new JsonObject().put("host", host).put("port", port);
  }

  @Test
  void updateConfigAcceptsTheRangeLimits() {
    assertThatCode(() -> CommandParams.validate(CommandName.UPDATE_CONFIG, new JsonObject()
        .put("sampling_cadence_ms", 100).put("send_interval_s", 3600).put("hello_interval_s", 5)
        .put("brokers", new JsonArray().add(broker("mqtt-a.example", 8883)).add(broker("10.0.0.2", 1883))))).doesNotThrowAnyException();
    assertThatCode(() -> CommandParams.validate(CommandName.UPDATE_CONFIG, new JsonObject().put("sampling_cadence_ms", 60000)))
        .doesNotThrowAnyException();
  }

  @Test
  void updateConfigRefusesWhatADeviceWouldReject() {
    assertThatThrownBy(() -> CommandParams.validate(CommandName.UPDATE_CONFIG, new JsonObject().put("sampling_cadence_ms", 99)))
        .hasMessageContaining("sampling_cadence_ms").hasMessageContaining("100 to 60000");
    assertThatThrownBy(() -> CommandParams.validate(CommandName.UPDATE_CONFIG, new JsonObject().put("hello_interval_s", 3601)))
        .hasMessageContaining("hello_interval_s");
    assertThatThrownBy(() -> CommandParams.validate(CommandName.UPDATE_CONFIG, new JsonObject().put("send_interval_s", "10")))
        .hasMessageContaining("send_interval_s");
    assertThatThrownBy(() -> CommandParams.validate(CommandName.UPDATE_CONFIG, new JsonObject().put("tls_enabled", false)))
        .hasMessageContaining("tls_enabled");
    assertThatThrownBy(() -> CommandParams.validate(CommandName.UPDATE_CONFIG, new JsonObject()))
        .hasMessageContaining("at least one");
    JsonArray six = new JsonArray();
    for (int i = 0; i < 6; i++) {
      six.add(broker("b" + i, 1883));
    }
    assertThatThrownBy(() -> CommandParams.validate(CommandName.UPDATE_CONFIG, new JsonObject().put("brokers", six)))
        .hasMessageContaining("1 to 5");
    assertThatThrownBy(() -> CommandParams.validate(CommandName.UPDATE_CONFIG, new JsonObject().put("brokers", new JsonArray().add(broker("ok", 70000)))))
        .hasMessageContaining("brokers[0].port");
    assertThatThrownBy(() -> CommandParams.validate(CommandName.UPDATE_CONFIG, new JsonObject().put("brokers", new JsonArray().add(broker("bad host", 1883)))))
        .hasMessageContaining("brokers[0].host");
  }

  @Test
  void startOtaNeedsItsFourFields() {
    JsonObject ota = new JsonObject().put("fw_version", "2.1.0").put("fw_url", "https://fw.example/meter-2.1.0.bin")
        .put("fw_sha256", "a".repeat(64)).put("fw_size_bytes", 1_048_576);
    assertThatCode(() -> CommandParams.validate(CommandName.START_OTA, ota)).doesNotThrowAnyException();
    assertThatThrownBy(() -> CommandParams.validate(CommandName.START_OTA, ota.copy().put("fw_sha256", "abc")))
        .hasMessageContaining("fw_sha256");
    assertThatThrownBy(() -> CommandParams.validate(CommandName.START_OTA, ota.copy().put("fw_url", "ftp://x/y")))
        .hasMessageContaining("fw_url");
    assertThatThrownBy(() -> CommandParams.validate(CommandName.START_OTA, ota.copy().put("fw_version", "latest")))
        .hasMessageContaining("fw_version");
    assertThatThrownBy(() -> CommandParams.validate(CommandName.START_OTA, ota.copy().put("fw_size_bytes", 0)))
        .hasMessageContaining("fw_size_bytes");
    JsonObject missing = ota.copy();
    missing.remove("fw_url");
    assertThatThrownBy(() -> CommandParams.validate(CommandName.START_OTA, missing)).hasMessageContaining("fw_url");
  }

  @Test
  void otherCommandsTakeNoParameters() {
    for (CommandName cmd : new CommandName[] {CommandName.REBOOT, CommandName.FACTORY_RESET, CommandName.REQUEST_STATUS}) {
      assertThatCode(() -> CommandParams.validate(cmd, new JsonObject())).doesNotThrowAnyException();
      assertThatThrownBy(() -> CommandParams.validate(cmd, new JsonObject().put("force", true))).hasMessageContaining("no params");
    }
  }
}
