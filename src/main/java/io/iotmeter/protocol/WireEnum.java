package io.iotmeter.protocol;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * Enums whose values travel as lower-case words in JSON, SQL and MQTT ({@code start_ota},
 * {@code online}). One place converts them both ways, so no caller compares strings by hand.
 */
public final class WireEnum {

  private WireEnum() {
  }

  public static String wire(Enum<?> value) {
    return value.name().toLowerCase(Locale.ROOT);
  }

  public static <E extends Enum<E>> Optional<E> parse(Class<E> type, String text) {
    if (text == null) {
      return Optional.empty();
    }
    return Arrays.stream(type.getEnumConstants()).filter(e -> wire(e).equals(text)).findFirst();
  }

  public static <E extends Enum<E>> List<String> words(Class<E> type) {
    return Arrays.stream(type.getEnumConstants()).map(WireEnum::wire).toList();
  }
}
