package io.iotmeter.bridge;

import io.iotmeter.bridge.BridgePermissions.Direction;
import io.iotmeter.bus.BusAddress;
import io.iotmeter.security.Role;
import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The declared set of public addresses: only iot.live.*, each with its role, nothing internal. */
class BridgePermissionsTest {

  @Test
  void onlyPublicLiveAddressesArePermitted() {
    assertThat(BridgePermissions.PERMITTED).allMatch(p -> p.address().address().startsWith("iot.live."));
    for (BusAddress address : BusAddress.values()) {
      if (!address.address().startsWith("iot.live.")) {
        String concrete = address.address().replace("<category>", "telemetry").replace("<component>", "intake")
            .replace("<client_id>", "dc-meter-001");
        assertThat(BridgePermissions.find(Direction.RECEIVE, concrete)).as(concrete).isEmpty();
        assertThat(BridgePermissions.find(Direction.SEND, concrete)).as(concrete).isEmpty();
      }
    }
  }

  @Test
  void viewersReceiveOperatorsSend() {
    assertThat(BridgePermissions.find(Direction.RECEIVE, "iot.live.telemetry.dc-meter-001")).get()
        .extracting(BridgePermissions.Permitted::least).isEqualTo(Role.VIEWER);
    assertThat(BridgePermissions.find(Direction.SEND, "iot.live.command.request")).get()
        .extracting(BridgePermissions.Permitted::least).isEqualTo(Role.OPERATOR);
    assertThat(BridgePermissions.find(Direction.SEND, "iot.live.telemetry.dc-meter-001")).as("not a request").isEmpty();
    assertThat(BridgePermissions.find(Direction.RECEIVE, "iot.live.command.request")).as("not a stream").isEmpty();
  }

  @Test
  void theDevicePartIsADeviceIdNotAnything() {
    assertThat(BridgePermissions.find(Direction.RECEIVE, "iot.live.telemetry.")).isEmpty();
    assertThat(BridgePermissions.find(Direction.RECEIVE, "iot.live.telemetry.a b")).isEmpty();
    assertThat(BridgePermissions.find(Direction.RECEIVE, "iot.live.telemetry." + "x".repeat(65))).isEmpty();
    assertThat(BridgePermissions.find(Direction.RECEIVE, "iot.live.statusX")).isEmpty();
    assertThat(BridgePermissions.find(Direction.RECEIVE, null)).isEmpty();
  }
}
