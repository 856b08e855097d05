package io.iotmeter.bridge;

import io.vertx.core.json.JsonObject;

/**
 * The {@code bridge} section (meaning and defaults in {@code conf/default.yaml}), read once.
 *
 * @param maxConnections    open connections per bridge and node; more are refused
 * @param maxFrameBytes     one frame from a client; a larger one closes its connection
 * @param maxRegistrations  addresses one connection may register for
 * @param inboundPerSecond  frames a client may send per second (a second's worth as burst); beyond, refused
 * @param outboundPerSecond messages delivered to one client per second; beyond, or while its socket
 *                          does not keep up, they are dropped for that client and counted
 * @param maxFailedKeys     wrong API keys one connection may present before it is closed
 * @param requestTimeoutMs  how long a client's request waits for its reply
 */
public record BridgeSettings(boolean sockJsEnabled, int maxConnections, int maxFrameBytes, int maxRegistrations,
                             int inboundPerSecond, int outboundPerSecond, int maxFailedKeys, long requestTimeoutMs) {

  public static BridgeSettings of(JsonObject config) {
    JsonObject bridge = config.getJsonObject("bridge", new JsonObject());
    return new BridgeSettings(
        bridge.getBoolean("sockjs_enabled", true),
        bridge.getInteger("max_connections", 200),
        bridge.getInteger("max_frame_bytes", 65_536),
        bridge.getInteger("max_registrations", 100),
        bridge.getInteger("inbound_per_s", 20),
        bridge.getInteger("outbound_per_s", 500),
        bridge.getInteger("max_failed_keys", 3),
        bridge.getLong("request_timeout_ms", 10_000L));
  }
}
