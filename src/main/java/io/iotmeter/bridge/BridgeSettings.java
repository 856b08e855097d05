package io.iotmeter.bridge;

import io.iotmeter.config.Settings;
import io.vertx.core.json.JsonObject;

/**
 * The {@code bridge} section (meaning and defaults in {@code conf/default.yaml}), read once.
 *
 * @param maxConnections    open connections per bridge and node; more are refused
 * @param maxConnectionsPerAddress open connections from one client address per bridge and node
 * @param loginTimeoutMs    with security on, how long a connection may stay without a valid API key
 * @param idleTimeoutS      a TCP connection with nothing read or written for this long is closed
 * @param maxFrameBytes     one frame from a client; a larger one closes its connection
 * @param maxRegistrations  addresses one connection may register for
 * @param inboundPerSecond  frames a client may send per second (a second's worth as burst); beyond, refused
 * @param outboundPerSecond messages delivered to one client per second; beyond, or while its socket
 *                          does not keep up, they are dropped for that client and counted
 * @param maxFailedKeys     wrong API keys one connection may present before it is closed
 * @param requestTimeoutMs  how long a client's request waits for its reply
 */
public record BridgeSettings(boolean sockJsEnabled, int maxConnections, int maxConnectionsPerAddress, long loginTimeoutMs,
                             int idleTimeoutS, int maxFrameBytes, int maxRegistrations,
                             int inboundPerSecond, int outboundPerSecond, int maxFailedKeys, long requestTimeoutMs) {

  public static BridgeSettings of(JsonObject config) {
    Settings bridge = Settings.of(config, "bridge");
    return new BridgeSettings(
        bridge.flag("sockjs_enabled"),
        bridge.integer("max_connections"),
        bridge.integer("max_connections_per_address"),
        bridge.whole("login_timeout_ms"),
        bridge.integer("idle_timeout_s"),
        bridge.integer("max_frame_bytes"),
        bridge.integer("max_registrations"),
        bridge.integer("inbound_per_s"),
        bridge.integer("outbound_per_s"),
        bridge.integer("max_failed_keys"),
        bridge.whole("request_timeout_ms"));
  }
}
