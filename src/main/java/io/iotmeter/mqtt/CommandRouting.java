package io.iotmeter.mqtt;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.protocol.CommandEnvelope;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.ReplyException;
import io.vertx.core.eventbus.ReplyFailure;
import io.vertx.core.json.JsonObject;

/**
 * Takes a command to its device: published on {@code iot/{id}/command} at QoS 2 through this
 * node's broker state (to the connected device, or into its persistent session). When this
 * node does not hold the device, the command goes on to {@code iot.mqtt.session.<device_id>},
 * which the node holding the device's connection answers — so in a cluster a command reaches
 * its device whichever node took the request.
 */
final class CommandRouting {

  private final Vertx vertx;
  private final BrokerState broker;

  CommandRouting(Vertx vertx, BrokerState broker) {
    this.vertx = vertx;
    this.broker = broker;
  }

  /** {@code iot.command.send}: here if possible, else on the node of the device's connection. */
  void onCommand(Message<JsonObject> request) {
    CommandEnvelope command = CommandEnvelope.fromBusMessage(request.body());
    BrokerState.Route route = routeHere(command);
    if (route.reachedAnyone()) {
      request.reply(answer(route));
      return;
    }
    vertx.eventBus().<JsonObject>request(BusAddress.MQTT_SESSION.address(command.deviceId()), request.body())
        .onSuccess(reply -> request.reply(reply.body()))
        .onFailure(e -> request.fail(404, e instanceof ReplyException r && r.failureType() == ReplyFailure.NO_HANDLERS
            ? "device " + command.deviceId() + " has no MQTT session subscribed to " + command.topic()
            : e.getMessage()));
  }

  /** {@code iot.mqtt.session.<device_id>}: the device is connected to this node. */
  void onSessionCommand(Message<JsonObject> request) {
    CommandEnvelope command = CommandEnvelope.fromBusMessage(request.body());
    BrokerState.Route route = routeHere(command);
    if (route.reachedAnyone()) {
      request.reply(answer(route));
    } else {
      request.fail(404, "device " + command.deviceId() + " is connected but not subscribed to " + command.topic());
    }
  }

  /** The {@code cmd_id} of a command publication's envelope. */
  static java.util.Optional<String> commandId(Publication publication) {
    try {
      return java.util.Optional.ofNullable(new JsonObject(new String(publication.payload(), java.nio.charset.StandardCharsets.UTF_8))
          .getString("cmd_id"));
    } catch (RuntimeException e) {
      return java.util.Optional.empty();
    }
  }

  private BrokerState.Route routeHere(CommandEnvelope command) {
    Publication publication = new Publication(command.topic(), command.toMqttPayload().toBuffer().getBytes(), 2, false);
    String cmdId = command.cmdId().toString();
    // A command sent again (redelivery) is not queued twice in a session that still holds it.
    BrokerState.Route route = broker.route(publication,
        held -> held.topic().equals(publication.topic()) && commandId(held).filter(cmdId::equals).isPresent());
    // A connection that closed after the route was decided no longer has its inbox: the command
    // then goes into the session (or the client's newer connection) rather than nowhere.
    route.deliveries().forEach(d -> vertx.eventBus().request(d.connection(), d.publication().toJson()).onFailure(e -> {
      String newer = broker.keepForLater(MqttServerVerticle.clientIdOf(d.connection()), d.connection(), d.publication());
      if (newer != null) {
        vertx.eventBus().send(newer, d.publication().toJson());
      }
    }));
    return route;
  }

  private static JsonObject answer(BrokerState.Route route) {
    return new JsonObject().put("delivered", !route.deliveries().isEmpty()).put("queued", route.queued() > 0);
  }
}
