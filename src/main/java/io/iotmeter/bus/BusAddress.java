package io.iotmeter.bus;

/**
 * The address catalogue: every event-bus address of the platform, how it is used and what
 * travels on it. This enum is the table of contents of the running system — a verticle that
 * sends or consumes anything on the bus names one of these constants, never a string literal.
 *
 * <p>Messages are JSON objects ({@code io.vertx.core.json.JsonObject}); the {@code shape}
 * column lists their fields. {@code CLUSTER} addresses may cross nodes in the cluster
 * profile; {@code LOCAL} addresses stay on the node that produced the message.
 */
public enum BusAddress {

  COMMAND_SEND("iot.command.send", Delivery.REQUEST, Scope.CLUSTER,
      "{device_id, cmd_id, cmd, params, ts}",
      "api (POST /api/devices/{id}/commands)",
      "MQTT verticles (device endpoint or broker bridge)",
      "Reply {delivered: true} once the command is queued for the device or published to the "
          + "brokers. No consumer (NO_HANDLERS) means no MQTT path runs: the API answers 202 with "
          + "mqtt_error and the command stays pending.");

  /** How a message is delivered. */
  public enum Delivery {
    /** Point-to-point with a reply ({@code request}). */
    REQUEST,
    /** Point-to-point, no reply ({@code send}). */
    SEND,
    /** To every consumer ({@code publish}). */
    PUBLISH
  }

  /** Whether the address spans the cluster or stays on one node. */
  public enum Scope { CLUSTER, LOCAL }

  private final String address;
  private final Delivery delivery;
  private final Scope scope;
  private final String shape;
  private final String producers;
  private final String consumers;
  private final String notes;

  BusAddress(String address, Delivery delivery, Scope scope, String shape,
             String producers, String consumers, String notes) {
    this.address = address;
    this.delivery = delivery;
    this.scope = scope;
    this.shape = shape;
    this.producers = producers;
    this.consumers = consumers;
    this.notes = notes;
  }

  public String address() { return address; }
  public Delivery delivery() { return delivery; }
  public Scope scope() { return scope; }
  public String shape() { return shape; }
  public String producers() { return producers; }
  public String consumers() { return consumers; }
  public String notes() { return notes; }

  @Override
  public String toString() {
    return address;
  }
}
