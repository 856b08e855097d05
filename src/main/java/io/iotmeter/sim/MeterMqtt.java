package io.iotmeter.sim;

import io.vertx.core.Future;
import io.vertx.core.buffer.Buffer;

import java.util.function.Consumer;

/**
 * What a meter's {@link BrokerConnection} needs of an MQTT client, so that a meter can speak
 * MQTT 3.1.1 (Vert.x's client, {@link VertxMeterMqtt}) or MQTT 5 ({@link Mqtt5MeterClient}),
 * as {@code simulator.mqtt_version} says. One instance per connection attempt.
 */
interface MeterMqtt {

  /** How the meter connects: its identity, its will and its credentials (both null without). */
  record Login(String clientId, int keepAliveSeconds, String willTopic, Buffer willPayload, String username,
               String password, int connectTimeoutMs) {
  }

  /** A message from the broker (the meter's commands): its payload. */
  void publishHandler(Consumer<Buffer> handler);

  /** A QoS 1/2 message of ours completed (PUBACK, or PUBCOMP): its packet id. */
  void publishCompletionHandler(Consumer<Integer> handler);

  void exceptionHandler(Consumer<Throwable> handler);

  void closeHandler(Runnable handler);

  /** Completes once the broker accepted the connection; fails when it refused it or could not be reached. */
  Future<Void> connect(int port, String host);

  /**
   * Subscribes. Fails when the broker refused the subscription (MQTT 5 answers are awaited; the
   * Vert.x 3.1.1 client completes once the SUBSCRIBE is sent).
   */
  Future<Void> subscribe(String topic, int qos);

  /** Completes with the packet id once written (0 for QoS 0). */
  Future<Integer> publish(String topic, Buffer payload, int qos, boolean retain);

  boolean isConnected();

  /** Our unacknowledged messages the broker accepts at most (its MQTT 5 Receive Maximum; 65,535 when it sets none). */
  default int receiveMaximum() {
    return 65_535;
  }

  Future<Void> disconnect();
}
