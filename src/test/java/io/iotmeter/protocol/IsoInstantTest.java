package io.iotmeter.protocol;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The fast path must accept and refuse exactly what OffsetDateTime.parse accepts and refuses. */
class IsoInstantTest {

  @ParameterizedTest
  @ValueSource(strings = {
      "2026-01-01T00:00:00Z", "2026-02-12T10:00:00.123Z", "2026-02-12T10:00:00.123456789Z", "2026-02-12T10:00:00.1Z",
      "2026-02-12T10:00:00+01:00", "2026-02-12T10:00:00.5-05:30", "2024-02-29T23:59:59Z", "1970-01-01T00:00:00+18:00",
      "2261-12-31T23:59:59-18:00", "0000-01-01T00:00:00Z", "2026-02-12T10:00:00.000Z",
      // left to the general parser, with the same outcome
      "2026-02-12t10:00:00z", "2026-02-12T10:00Z", "2026-02-12T10:00:00+01", "2026-02-12T10:00:00+01:00:30",
      "2026-02-12T10:00:00.Z", "+12026-02-12T10:00:00Z"})
  void acceptsWhatTheGeneralParserAccepts(String text) {
    assertThat(IsoInstant.parse(text)).isEqualTo(OffsetDateTime.parse(text).toInstant());
  }

  @ParameterizedTest
  @ValueSource(strings = {
      "2026-02-30T00:00:00Z", "2025-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-00-10T00:00:00Z",
      "2026-01-01T24:00:00Z", "2026-01-01T23:60:00Z", "2026-01-01T23:59:60Z", "2026-01-01T00:00:00",
      "2026-01-01T00:00:00.1234567891Z", "2026-01-01T00:00:00+19:00", "2026-01-01T00:00:00+18:01",
      "2026-01-01 00:00:00Z", "2026-1-01T00:00:00Z", "2026-01-01T00:00:00ZZ", "x026-01-01T00:00:00Z", "", "now"})
  void refusesWhatTheGeneralParserRefuses(String text) {
    assertThatThrownBy(() -> OffsetDateTime.parse(text)).isInstanceOf(DateTimeParseException.class);
    assertThatThrownBy(() -> IsoInstant.parse(text)).isInstanceOf(DateTimeParseException.class);
  }

  @Test
  void theFastPathTakesTheMetersForm() {
    assertThat(IsoInstant.fast("2026-02-12T10:00:00.123Z")).isEqualTo(Instant.parse("2026-02-12T10:00:00.123Z"));
    assertThat(IsoInstant.fast("2026-02-12t10:00:00Z")).isNull();
  }

  /** Random times in the common form, and random one-character changes of them. */
  @Test
  void agreesWithTheGeneralParserOnRandomInput() {
    Random random = new Random(42);
    String alphabet = "0123456789-:T.Z+ zt";
    for (int i = 0; i < 20_000; i++) {
      Instant instant = Instant.ofEpochSecond(random.nextLong(-9_000_000_000L, 9_000_000_000L), random.nextInt(1_000_000_000));
      String text = instant.atOffset(java.time.ZoneOffset.ofTotalSeconds(60 * random.nextInt(-18 * 60, 18 * 60 + 1))).toString();
      if (random.nextBoolean()) {
        char[] chars = text.toCharArray();
        chars[random.nextInt(chars.length)] = alphabet.charAt(random.nextInt(alphabet.length()));
        text = new String(chars);
      }
      Instant expected;
      try {
        expected = OffsetDateTime.parse(text).toInstant();
      } catch (DateTimeParseException e) {
        String refused = text;
        assertThatThrownBy(() -> IsoInstant.parse(refused)).as(text).isInstanceOf(DateTimeParseException.class);
        continue;
      }
      assertThat(IsoInstant.parse(text)).as(text).isEqualTo(expected);
    }
  }

  /** The formatter writes what ISO_INSTANT writes, for every kind of fraction and across the years it handles and beyond. */
  @Test
  void formatsExactlyAsIsoInstant() {
    Random random = new Random(7);
    for (int i = 0; i < 50_000; i++) {
      long seconds = random.nextLong(-70_000_000_000L, 270_000_000_000L);
      int nanos = switch (random.nextInt(4)) {
        case 0 -> 0;
        case 1 -> random.nextInt(1000) * 1_000_000;
        case 2 -> random.nextInt(1_000_000) * 1000;
        default -> random.nextInt(1_000_000_000);
      };
      Instant instant = Instant.ofEpochSecond(seconds, nanos);
      assertThat(IsoInstant.format(instant)).isEqualTo(java.time.format.DateTimeFormatter.ISO_INSTANT.format(instant));
    }
    for (String text : new String[] {"1970-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z",
        "2024-02-29T12:00:00.100Z", "1969-12-31T23:59:59.000001Z", "0000-12-31T23:59:59Z", "+10000-01-01T00:00:00Z"}) {
      Instant instant = Instant.parse(text);
      assertThat(IsoInstant.format(instant)).isEqualTo(instant.toString()).isEqualTo(text);
    }
  }
}
