package io.iotmeter.derived;

import io.iotmeter.protocol.Measurement;
import org.junit.jupiter.api.Test;

import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class DerivedPowerTest {

  private static final Instant T = Instant.parse("2026-02-12T10:00:01Z");

  @Test
  void dcActivePowerIsVoltageTimesCurrentPerInstant() {
    List<Measurement> derived = DerivedPower.of(List.of(
        new Measurement(T, "voltage_dc", 756.3, "V"), new Measurement(T, "current_dc", 312.8, "A"),
        new Measurement(T.plusSeconds(1), "voltage_dc", 750.0, "V"), new Measurement(T.plusSeconds(1), "current_dc", -120.0, "A"),
        new Measurement(T.plusSeconds(2), "voltage_dc", 749.0, "V")));
    assertThat(derived).hasSize(2);
    assertThat(derived.get(0).type()).isEqualTo("power_active");
    assertThat(derived.get(0).unit()).isEqualTo("W");
    assertThat(derived.get(0).ts()).isEqualTo(T);
    assertThat(derived.get(0).value()).isCloseTo(236_570.64, within(1e-6));
    assertThat(derived.get(1).value()).as("regenerative braking: negative power").isCloseTo(-90_000.0, within(1e-9));
  }

  @Test
  void acActiveApparentAndReactivePower() {
    List<Measurement> derived = DerivedPower.of(List.of(
        new Measurement(T, "voltage_ac", 25_000.0, "V"), new Measurement(T, "current_ac", 150.0, "A"),
        new Measurement(T, "frequency", 50.0, "Hz"), new Measurement(T, "pf", 0.96, null)));
    // S = 25 kV × 150 A = 3.75 MVA; P = S × 0.96 = 3.6 MW; Q = √(S² − P²) = 1.05 Mvar.
    assertThat(derived).extracting(Measurement::type).containsExactly("power_apparent", "power_active", "power_reactive");
    assertThat(derived.get(0).value()).isCloseTo(3_750_000.0, within(1e-6));
    assertThat(derived.get(1).value()).isCloseTo(3_600_000.0, within(1e-6));
    assertThat(derived.get(2).value()).isCloseTo(1_050_000.0, within(1e-3));
    assertThat(derived.get(2).unit()).isEqualTo("var");
  }

  @Test
  void unityPowerFactorGivesZeroReactivePowerNotNaN() {
    List<Measurement> derived = DerivedPower.of(List.of(new Measurement(T, "voltage_ac", 25_123.7, "V"),
        new Measurement(T, "current_ac", 171.3, "A"), new Measurement(T, "pf", 1.0, null)));
    assertThat(derived.get(2).value()).isZero();
  }
}
