package io.iotmeter.boot;

import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class SecretMaskerTest {

  @Test
  void masksSecretsAtAnyDepthAndKeepsTheRest() {
    JsonObject config = new JsonObject()
        .put("postgres", new JsonObject().put("password", "iot_password").put("host", "postgres"))
        .put("influxdb", new JsonObject().put("token", "iot-admin-token-secret-12345"))
        .put("s3", new JsonObject().put("access_key", "minioadmin").put("secret_key", "minioadmin123"));
    JsonObject masked = SecretMasker.mask(config);
    assertThat(masked.encode()).doesNotContain("iot_password", "iot-admin-token", "minioadmin");
    assertThat(masked.getJsonObject("postgres").getString("host")).isEqualTo("postgres");
    assertThat(config.getJsonObject("postgres").getString("password")).as("the original is untouched").isEqualTo("iot_password");
  }
}
