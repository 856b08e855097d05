package io.iotmeter.energy;

import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The device metadata keys of energy billing: {@code consumption_point_id} (at most 32 printable
 * ASCII characters; the device id when absent), {@code train_id}, {@code car} and
 * {@code traction_system} (one of {@link #TRACTION_SYSTEMS}). The API checks them when a device is
 * created or changed; the compiler records the consumption point and train with every version.
 */
public final class DeviceMetadata {

  public static final String CONSUMPTION_POINT = "consumption_point_id";
  public static final String TRAIN = "train_id";
  public static final String CAR = "car";
  public static final String TRACTION_SYSTEM = "traction_system";

  public static final List<String> TRACTION_SYSTEMS = List.of("25kV_50Hz", "15kV_16.7Hz", "3kV_DC", "1.5kV_DC", "750V_DC",
      "600V_DC");

  private static final Pattern PRINTABLE_32 = Pattern.compile("[\\x21-\\x7e](?:[\\x20-\\x7e]{0,30}[\\x21-\\x7e])?");
  /** Train ids as the API's paths take them. */
  public static final Pattern TRAIN_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}");

  private DeviceMetadata() {
  }

  /** What is wrong with the billing keys of {@code metadata}, if anything (a message for a 400). */
  public static Optional<String> problem(JsonObject metadata) {
    Object cp = metadata.getValue(CONSUMPTION_POINT);
    if (cp != null && !(cp instanceof String s && PRINTABLE_32.matcher(s).matches())) {
      return Optional.of("metadata." + CONSUMPTION_POINT + " must be 1 to 32 printable ASCII characters, without spaces at "
          + "either end");
    }
    Object train = metadata.getValue(TRAIN);
    if (train != null && !(train instanceof String s && TRAIN_ID.matcher(s).matches())) {
      return Optional.of("metadata." + TRAIN + " must be 1 to 64 letters, digits, '_', '.', ':' or '-', starting with a letter "
          + "or digit");
    }
    Object car = metadata.getValue(CAR);
    if (car != null && !(car instanceof String s && PRINTABLE_32.matcher(s).matches())
        && !(car instanceof Number n && n.doubleValue() == Math.rint(n.doubleValue()) && n.longValue() >= 0)) {
      return Optional.of("metadata." + CAR + " must be a whole number or 1 to 32 printable ASCII characters");
    }
    Object traction = metadata.getValue(TRACTION_SYSTEM);
    if (traction != null && !TRACTION_SYSTEMS.contains(traction)) {
      return Optional.of("metadata." + TRACTION_SYSTEM + " must be one of " + String.join(", ", TRACTION_SYSTEMS));
    }
    return Optional.empty();
  }

  /** The meter's consumption point: its metadata's when valid, else its device id. */
  public static String consumptionPoint(String deviceId, JsonObject metadata) {
    Object cp = metadata.getValue(CONSUMPTION_POINT);
    return cp instanceof String s && PRINTABLE_32.matcher(s).matches() ? s : deviceId;
  }

  /** The train the meter is on, null when its metadata names none (or not validly). */
  public static String train(JsonObject metadata) {
    Object train = metadata.getValue(TRAIN);
    return train instanceof String s && TRAIN_ID.matcher(s).matches() ? s : null;
  }
}
