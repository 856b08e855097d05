package io.iotmeter.bridge;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.security.Role;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The one declared set of addresses the bridges expose, beside the address catalogue: what a
 * client may receive (register for) and what it may send, and the least role for each. Nothing
 * else crosses a bridge — journal, sinks, health, identity and cluster control stay internal.
 * Both bridges (SockJS at {@code /eventbus}, TCP on {@code bridge.tcp.port}) check every frame
 * against this list.
 */
public final class BridgePermissions {

  /** Which way a message crosses the bridge. */
  public enum Direction {
    /** From the platform to the client ({@code register}). */
    RECEIVE,
    /** From the client to the platform ({@code send}, a request with a reply). */
    SEND
  }

  /** One permitted address (or family of addresses) with the least role that may use it. */
  public record Permitted(BusAddress address, Direction direction, Role least, Pattern pattern) {

    boolean matches(String concrete) {
      return pattern.matcher(concrete).matches();
    }
  }

  /** Device ids as the protocol allows them in topics. */
  private static final String DEVICE_ID = "[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}";

  public static final List<Permitted> PERMITTED = List.of(
      receive(BusAddress.LIVE_TELEMETRY, DEVICE_ID),
      receive(BusAddress.LIVE_STATUS, null),
      receive(BusAddress.LIVE_ALERTS, null),
      receive(BusAddress.LIVE_COMMANDS, null),
      receive(BusAddress.LIVE_INGEST, null),
      send(BusAddress.LIVE_COMMAND_REQUEST, Role.OPERATOR),
      send(BusAddress.LIVE_ALERT_ACK, Role.OPERATOR));

  private BridgePermissions() {
  }

  private static Permitted receive(BusAddress address, String part) {
    return new Permitted(address, Direction.RECEIVE, Role.VIEWER, pattern(address, part));
  }

  private static Permitted send(BusAddress address, Role least) {
    return new Permitted(address, Direction.SEND, least, pattern(address, null));
  }

  private static Pattern pattern(BusAddress address, String part) {
    String name = address.address();
    int open = name.indexOf('<');
    return open < 0 ? Pattern.compile(Pattern.quote(name)) : Pattern.compile(Pattern.quote(name.substring(0, open)) + part);
  }

  /** The entry that permits {@code address} in {@code direction}, if any. */
  public static Optional<Permitted> find(Direction direction, String address) {
    if (address == null || address.length() > 200) {
      return Optional.empty();
    }
    return PERMITTED.stream().filter(p -> p.direction() == direction && p.matches(address)).findFirst();
  }
}
