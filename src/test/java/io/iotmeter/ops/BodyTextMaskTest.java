package io.iotmeter.ops;

import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The tap's rendering never shows a secret field, at any depth, and leaves the message itself alone. */
class BodyTextMaskTest {

  @Test
  void secretFieldsAreMaskedAtAnyDepthAndTheOriginalStaysAsItWas() {
    JsonObject body = new JsonObject().put("action", "set").put("device_id", "dc-meter-001").put("password", "s3cret")
        .put("nested", new JsonObject().put("API_KEY", "iot_x_y").put("keep", "visible"))
        .put("list", new JsonArray().add(new JsonObject().put("token", "t0k3n")).add("plain"));
    String shown = BodyText.of(body).json();
    assertThat(shown).doesNotContain("s3cret").doesNotContain("iot_x_y").doesNotContain("t0k3n")
        .contains("\"password\":\"***\"").contains("\"keep\":\"visible\"").contains("\"plain\"").contains("dc-meter-001");
    assertThat(body.getString("password")).as("the message on the bus is not changed").isEqualTo("s3cret");
    assertThat(body.getJsonObject("nested").getString("API_KEY")).isEqualTo("iot_x_y");
  }

  @Test
  void aBodyWithoutSecretsIsRenderedAsItIs() {
    JsonObject body = new JsonObject().put("device_id", "d").put("seq", 7);
    assertThat(BodyText.masked(body)).isSameAs(body);
    assertThat(BodyText.of(body).json()).isEqualTo(body.encode());
  }
}
