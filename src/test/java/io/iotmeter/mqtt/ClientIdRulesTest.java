package io.iotmeter.mqtt;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

/** The client ids a device may use with security on: its own id, or its own id, a hyphen and a suffix. */
class ClientIdRulesTest {

  @Test
  void aDeviceMayUseItsIdAndSuffixedOnesOnly() {
    assertThat(DeviceAuthenticator.mayUseClientId("dc-meter-001", "dc-meter-001")).isTrue();
    assertThat(DeviceAuthenticator.mayUseClientId("dc-meter-001", "dc-meter-001-broker2")).isTrue();
    assertThat(DeviceAuthenticator.mayUseClientId("dc-meter-001", "dc-meter-001-")).as("an empty suffix").isFalse();
    assertThat(DeviceAuthenticator.mayUseClientId("dc-meter-001", "dc-meter-0010")).isFalse();
    assertThat(DeviceAuthenticator.mayUseClientId("dc-meter-001", "dc-meter-002")).isFalse();
    assertThat(DeviceAuthenticator.mayUseClientId("dc-meter-001", "dc-meter-00")).isFalse();
    assertThat(DeviceAuthenticator.mayUseClientId("dc-meter-001", "x-dc-meter-001")).isFalse();
    assertThat(DeviceAuthenticator.mayUseClientId("dc-meter-001", "dc-meter-001_2")).isFalse();
    assertThat(DeviceAuthenticator.mayUseClientId(null, "anything")).as("security off").isTrue();
  }
}
