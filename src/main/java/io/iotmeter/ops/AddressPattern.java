package io.iotmeter.ops;

import java.util.ArrayList;
import java.util.List;

/**
 * The addresses a tap stream shows: one or more globs, any of which may match. A glob is
 * matched against the whole address and has one special character: {@code *} stands for any
 * run of characters, dots included, so {@code iot.*} matches {@code iot.accepted.telemetry}
 * and {@code *} alone matches every address. Dots are not special on purpose: addresses such
 * as {@code iot.mqtt.client.<client_id>#<connection>} carry client ids that may contain dots
 * themselves, so "one level" has no reliable meaning on this bus.
 *
 * <p>A catalogue placeholder such as {@code <category>} counts as {@code *}, so the names
 * {@code iot-meter addresses} prints ({@code iot.accepted.<category>}) can be pasted as they are.
 */
public final class AddressPattern {

  public static final int MAX_GLOBS = 20;
  public static final int MAX_LENGTH = 200;

  private final List<String> globs;
  /** Per glob, its literal pieces between the stars; a single piece means an exact address. */
  private final List<String[]> pieces;

  private AddressPattern(List<String> globs, List<String[]> pieces) {
    this.globs = globs;
    this.pieces = pieces;
  }

  /**
   * Parses the globs a client asked for.
   *
   * @throws IllegalArgumentException with a message fit for the client when a glob is unusable
   */
  public static AddressPattern parse(List<String> globs) {
    if (globs.isEmpty()) {
      throw new IllegalArgumentException("is required: an address or a pattern such as iot.accepted.* (* matches everything)");
    }
    if (globs.size() > MAX_GLOBS) {
      throw new IllegalArgumentException("may be given at most " + MAX_GLOBS + " times");
    }
    List<String[]> pieces = new ArrayList<>();
    for (String glob : globs) {
      pieces.add(compile(glob));
    }
    return new AddressPattern(List.copyOf(globs), pieces);
  }

  private static String[] compile(String glob) {
    if (glob.isEmpty()) {
      throw new IllegalArgumentException("must not be empty");
    }
    if (glob.length() > MAX_LENGTH) {
      throw new IllegalArgumentException("must be at most " + MAX_LENGTH + " characters");
    }
    if (glob.codePoints().anyMatch(c -> Character.isWhitespace(c) || Character.isISOControl(c))) {
      throw new IllegalArgumentException("must not contain whitespace or control characters (addresses have none): '" + glob + "'");
    }
    String starred = glob.replaceAll("<[^<>]*>", "*");
    if (starred.indexOf('<') >= 0 || starred.indexOf('>') >= 0) {
      throw new IllegalArgumentException("has an unclosed placeholder in '" + glob + "': write <name> or *");
    }
    return starred.replaceAll("\\*+", "*").split("\\*", -1);
  }

  /** The globs as the client gave them. */
  public List<String> globs() {
    return globs;
  }

  public boolean matches(String address) {
    for (String[] glob : pieces) {
      if (matches(glob, address)) {
        return true;
      }
    }
    return false;
  }

  /** Leftmost matching of the pieces in order is enough when the only wildcard is {@code *}. */
  private static boolean matches(String[] pieces, String address) {
    if (pieces.length == 1) {
      return address.equals(pieces[0]);
    }
    String first = pieces[0];
    String last = pieces[pieces.length - 1];
    int end = address.length() - last.length();
    if (end < first.length() || !address.startsWith(first) || !address.endsWith(last)) {
      return false;
    }
    int position = first.length();
    for (int i = 1; i < pieces.length - 1; i++) {
      int found = address.indexOf(pieces[i], position);
      if (found < 0 || found + pieces[i].length() > end) {
        return false;
      }
      position = found + pieces[i].length();
    }
    return true;
  }

  @Override
  public String toString() {
    return String.join(" ", globs);
  }
}
