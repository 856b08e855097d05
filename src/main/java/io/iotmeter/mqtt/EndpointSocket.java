package io.iotmeter.mqtt;

import io.vertx.core.net.NetSocket;
import io.vertx.mqtt.MqttEndpoint;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.reflect.Field;

/**
 * The TCP socket under a vertx-mqtt endpoint, for the two things {@link MqttEndpoint} does not
 * offer: pausing reads (back-pressure on a client that sends faster than its messages become
 * durable) and the write queue (QoS 0 to a client that does not read). vertx-mqtt 5.0 keeps it
 * in {@code MqttEndpointImpl.conn}; {@code EndpointSocketTest} fails the build if an upgrade
 * moves it. Without it, the endpoint falls back to closing a connection that exceeds its bounds.
 */
final class EndpointSocket {

  private static final Logger LOG = LoggerFactory.getLogger(EndpointSocket.class);
  private static final Field CONN = find();

  private EndpointSocket() {
  }

  private static Field find() {
    try {
      Field field = Class.forName("io.vertx.mqtt.impl.MqttEndpointImpl").getDeclaredField("conn");
      field.setAccessible(true);
      return field;
    } catch (ReflectiveOperationException | RuntimeException e) {
      LOG.warn("vertx-mqtt's endpoint socket is out of reach ({}): clients over their bounds are disconnected instead of paused",
          e.toString());
      return null;
    }
  }

  /** The endpoint's socket, or null when it cannot be reached. */
  static NetSocket of(MqttEndpoint endpoint) {
    if (CONN == null || !CONN.getDeclaringClass().isInstance(endpoint)) {
      return null;
    }
    try {
      return (NetSocket) CONN.get(endpoint);
    } catch (IllegalAccessException e) {
      return null;
    }
  }
}
