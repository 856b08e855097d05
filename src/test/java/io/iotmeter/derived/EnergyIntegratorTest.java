package io.iotmeter.derived;

import io.iotmeter.derived.EnergyIntegrator.Sample;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

class EnergyIntegratorTest {

  private static final Instant T0 = Instant.parse("2026-02-12T10:00:00Z");
  private static final Duration GAP = Duration.ofMillis(2500);

  private static List<Sample> series(double... watts) {
    List<Sample> samples = new ArrayList<>();
    for (int i = 0; i < watts.length; i++) {
      samples.add(new Sample(T0.plusSeconds(i), watts[i]));
    }
    return samples;
  }

  @Test
  void constantPowerForAnHour() {
    double[] watts = new double[3601];
    java.util.Arrays.fill(watts, 300_000);
    List<Sample> energy = EnergyIntegrator.integrate(series(watts), EnergyMetric.ACTIVE_IMPORT, GAP);
    assertThat(energy).hasSize(3601);
    assertThat(energy.get(0).value()).isZero();
    assertThat(energy.get(3600).value()).isCloseTo(300_000.0, within(1e-6)); // 300 kW × 1 h = 300 kWh
  }

  @Test
  void importAndExportSplitAtTheZeroCrossing() {
    // 0→1 s: 3600 W → 3600 W; 1→2 s: 3600 W → −3600 W (crosses zero at 1.5 s); 2→3 s: −3600 W.
    List<Sample> power = series(3600, 3600, -3600, -3600);
    List<Sample> imported = EnergyIntegrator.integrate(power, EnergyMetric.ACTIVE_IMPORT, GAP);
    List<Sample> exported = EnergyIntegrator.integrate(power, EnergyMetric.ACTIVE_EXPORT, GAP);
    // import: 1 Wh in the first second + 0.25 Wh before the crossing; export: 0.25 Wh + 1 Wh.
    assertThat(imported.get(3).value()).isCloseTo(1.25, within(1e-12));
    assertThat(exported.get(3).value()).isCloseTo(1.25, within(1e-12));
    assertThat(exported.get(1).value()).isZero();
  }

  @Test
  void aGapIsNotIntegrated() {
    List<Sample> power = new ArrayList<>(series(3600, 3600));
    power.add(new Sample(T0.plusSeconds(12), 3600)); // ten seconds of samples missing
    power.add(new Sample(T0.plusSeconds(13), 3600));
    List<Sample> energy = EnergyIntegrator.integrate(power, EnergyMetric.ACTIVE_IMPORT, GAP);
    assertThat(energy).extracting(Sample::value).containsExactly(0.0, 1.0, 1.0, 2.0);
  }
}
