package io.iotmeter.protocol;

import org.junit.jupiter.api.Test;

import java.util.Random;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/** The hand-written checks of metric names and units decide exactly as the protocol's patterns. */
class NameChecksTest {

  private static final Pattern UNIT = Pattern.compile("[\\p{L}\\p{N}\\p{P}\\p{S}]{1,16}");

  @Test
  void metricNamesAndUnitsAgreeWithThePatterns() {
    Random random = new Random(7);
    String alphabet = "aZ09_-. /%°²µ\u0000\u200b\ud83d\udd0bÄ,=\\\"x";
    for (int i = 0; i < 50_000; i++) {
      StringBuilder text = new StringBuilder();
      int length = random.nextInt(70);
      for (int c = 0; c < length; c++) {
        text.append(random.nextInt(3) == 0 ? alphabet.charAt(random.nextInt(alphabet.length()))
            : (char) ('a' + random.nextInt(26)));
      }
      String s = text.toString();
      assertThat(DeviceMessage.isMetricName(s)).as(s).isEqualTo(DeviceMessage.MEASUREMENT_TYPE.matcher(s).matches());
      assertThat(DeviceMessage.isUnit(s)).as(s).isEqualTo(UNIT.matcher(s).matches());
    }
  }

  @Test
  void theUsualOnesPass() {
    assertThat(DeviceMessage.isMetricName("voltage_dc")).isTrue();
    assertThat(DeviceMessage.isMetricName("9volts")).isFalse();
    assertThat(DeviceMessage.isUnit("V")).isTrue();
    assertThat(DeviceMessage.isUnit("m/s²")).isTrue();
    assertThat(DeviceMessage.isUnit("°C")).isTrue();
    assertThat(DeviceMessage.isUnit("k W")).isFalse();
    assertThat(DeviceMessage.isUnit("")).isFalse();
  }
}
