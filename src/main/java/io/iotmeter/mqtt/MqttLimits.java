package io.iotmeter.mqtt;

import io.iotmeter.config.Settings;
import io.vertx.core.json.JsonObject;

/**
 * The device endpoint's bounds, read once from the {@code mqtt} configuration section (defaults
 * and meaning in {@code conf/default.yaml}). Every buffer is bounded in bytes as well as in
 * count, so no client behaviour can grow the heap without limit; what happens at each bound
 * is stated where it is enforced.
 *
 * @param window                 our unacknowledged QoS 1/2 messages per client (in flight)
 * @param maxQueued              QoS 1/2 messages waiting for a client (offline, or its window full)
 * @param maxQueuedBytes         the same, in payload bytes; beyond either, the oldest is dropped
 * @param maxTotalQueuedBytes    all sessions' waiting messages on this node; beyond it new ones are dropped
 * @param maxPendingHandoffs     a client's messages received but not yet durable; beyond, its socket is paused
 * @param maxPendingHandoffBytes the same, in payload bytes
 * @param maxTotalPendingBytes   all clients' pending messages on this node; beyond it the clients holding
 *                               more than their share are paused
 * @param maxSubscriptions       filters per client; more are refused in SUBACK
 * @param maxRetained            retained messages on this node
 * @param maxRetainedBytes       their payload bytes
 * @param maxRetainedPerClient   retained messages one client may set; beyond, the retain flag is ignored
 * @param maxSessions            sessions on this node; a new client beyond it is refused (server unavailable)
 * @param maxSessionsPerDevice   sessions of one authenticated device on this node; beyond, refused (quota)
 * @param idleTimeoutSeconds     a connection that sends nothing this long is closed (keep-alive 0, half-open)
 * @param sessionExpirySeconds   the longest a session outlives its connection (an MQTT 5 client may ask for less)
 * @param maxMessageBytes        the largest packet a client may send (MQTT 5: announced as Maximum Packet Size)
 * @param receiveMaximum         MQTT 5: QoS 1/2 messages a client may have unacknowledged with us; one more disconnects it
 * @param topicAliasMaximum      MQTT 5: topic aliases a client may set per connection (0: none)
 * @param serverKeepAliveSeconds MQTT 5: the longest keep-alive granted; a client asking more (or none) is told this
 */
record MqttLimits(int window, int maxQueued, long maxQueuedBytes, long maxTotalQueuedBytes, int maxPendingHandoffs,
                  long maxPendingHandoffBytes, long maxTotalPendingBytes, int maxSubscriptions, int maxRetained,
                  long maxRetainedBytes, int maxRetainedPerClient, int maxSessions, int maxSessionsPerDevice,
                  int idleTimeoutSeconds, long sessionExpirySeconds, int maxMessageBytes, int receiveMaximum,
                  int topicAliasMaximum, int serverKeepAliveSeconds) {

  MqttLimits {
    if (receiveMaximum < 1 || receiveMaximum > 65_535) {
      throw new IllegalArgumentException("mqtt.receive_maximum must be 1..65535, got " + receiveMaximum);
    }
    if (topicAliasMaximum < 0 || topicAliasMaximum > 65_535) {
      throw new IllegalArgumentException("mqtt.topic_alias_maximum must be 0..65535, got " + topicAliasMaximum);
    }
    if (serverKeepAliveSeconds < 1 || serverKeepAliveSeconds > 65_535) {
      throw new IllegalArgumentException("mqtt.server_keep_alive_s must be 1..65535, got " + serverKeepAliveSeconds);
    }
    if (sessionExpirySeconds < 0 || sessionExpirySeconds > 0xFFFF_FFFFL) {
      throw new IllegalArgumentException("mqtt.session_expiry_s must be 0..4294967295, got " + sessionExpirySeconds);
    }
  }

  static MqttLimits fromConfig(JsonObject mqtt) {
    return of(Settings.section("mqtt", mqtt));
  }

  static MqttLimits of(Settings mqtt) {
    return new MqttLimits(
        mqtt.integer("max_inflight"),
        mqtt.integer("max_queued"),
        mqtt.whole("max_queued_bytes"),
        mqtt.whole("max_total_queued_bytes"),
        mqtt.integer("max_pending_handoffs"),
        mqtt.whole("max_pending_handoff_bytes"),
        mqtt.whole("max_total_pending_bytes"),
        mqtt.integer("max_subscriptions"),
        mqtt.integer("max_retained"),
        mqtt.whole("max_retained_bytes"),
        mqtt.integer("max_retained_per_client"),
        mqtt.integer("max_sessions"),
        mqtt.integer("max_sessions_per_device"),
        mqtt.integer("idle_timeout_s"),
        mqtt.whole("session_expiry_s"),
        mqtt.integer("max_message_bytes"),
        mqtt.integer("receive_maximum"),
        mqtt.integer("topic_alias_maximum"),
        mqtt.integer("server_keep_alive_s"));
  }

  /** Limits for the broker-state tests: small, everything else default. */
  static MqttLimits forTests(int maxQueued) {
    return fromConfig(new JsonObject().put("max_queued", maxQueued));
  }
}
