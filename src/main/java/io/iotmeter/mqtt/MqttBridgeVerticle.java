package io.iotmeter.mqtt;

import io.iotmeter.config.Settings;
import io.iotmeter.config.StartupException;
import io.iotmeter.bus.BusAddress;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.ops.PlatformMetrics;
import io.iotmeter.protocol.CommandEnvelope;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * The broker bridge: the platform as a client of external brokers (Mosquitto in the reference
 * deployment). Devices publish to every broker, so the same message arrives once per broker;
 * the intake keeps one. Commands go to every broker, as the devices listen on all of them.
 */
public final class MqttBridgeVerticle extends VerticleBase {

  private final List<BrokerLink> links = new ArrayList<>();
  private MessageConsumer<JsonObject> commands;
  private MessageConsumer<JsonObject> health;
  private MessageConsumer<JsonObject> provisioning;

  @Override
  public Future<?> start() {
    JsonObject given = config().getJsonObject("mqtt_bridge", new JsonObject());
    Settings bridge = Settings.of(config(), "mqtt_bridge");
    IngestMetrics metrics = IngestMetrics.of(PlatformMetrics.registry(config()));
    Handoff handoff = new Handoff(vertx, bridge.millis("handoff_timeout_ms"), bridge.integer("handoff_max_in_flight"),
        bridge.whole("handoff_max_in_flight_bytes"));
    String clientId = bridge.text("client_id");
    String group = bridge.text("shared_group");
    if (given.containsKey("qos") && !Integer.valueOf(BrokerLink.QOS).equals(given.getValue("qos"))) {
      return Future.failedFuture(new StartupException("mqtt_bridge.qos is no longer an option: the bridge always subscribes "
          + "at QoS 1, which with de-duplication loses and doubles nothing (QoS 2 through the Vert.x client could lose a "
          + "message in a crash); remove the setting"));
    }
    boolean dynamicSecurity = bridge.flag("dynamic_security");
    boolean tls = bridge.flag("tls");
    String ca = bridge.text("ca_path");
    if (tls && !ca.isEmpty() && !java.nio.file.Files.isReadable(java.nio.file.Path.of(ca))) {
      return Future.failedFuture(new StartupException("mqtt_bridge.ca_path: cannot read " + ca));
    }
    // Without a CA file the JVM's trust store decides (a broker with a public certificate).
    io.vertx.core.net.TrustOptions trust = tls && !ca.isEmpty() ? new io.vertx.core.net.PemTrustOptions().addCertPath(ca) : null;
    for (String entry : bridge.texts("brokers")) {
      String[] hostPort = parse(entry);
      links.add(new BrokerLink(vertx, new BrokerLink.Settings(hostPort[0], Integer.parseInt(hostPort[1]), clientId,
          group.isEmpty() ? null : group, bridge.integer("keep_alive_s"), bridge.millis("min_backoff_ms"),
          bridge.millis("max_backoff_ms"), bridge.text("username"), bridge.text("password"), dynamicSecurity, tls, trust),
          handoff, metrics));
    }
    if (dynamicSecurity) {
      provisioning = vertx.eventBus().consumer(BusAddress.BRIDGE_PROVISION.address(), this::provision);
    }
    if (links.isEmpty()) {
      return Future.failedFuture(new StartupException("mqtt_bridge.brokers lists no broker (host:port, ...)"));
    }
    commands = vertx.eventBus().consumer(BusAddress.COMMAND_SEND.address(), request -> {
      CommandEnvelope command = CommandEnvelope.fromBusMessage(request.body());
      List<Future<Void>> sent = links.stream()
          .map(link -> link.publish(command.topic(), command.toMqttPayload().toBuffer(), 2)).toList();
      Future.join(sent).onComplete(done -> {
        long delivered = sent.stream().filter(Future::succeeded).count();
        if (delivered > 0) {
          request.reply(new JsonObject().put("delivered", true).put("brokers", delivered));
          // Through brokers the device's own receipt is not visible: a broker that took it is as far as we can see.
          vertx.eventBus().send(BusAddress.COMMAND_DELIVERED.address(), new JsonObject()
              .put("cmd_id", command.cmdId().toString()).put("device_id", command.deviceId()));
        } else {
          request.fail(503, "no broker reachable: " + links.stream().map(BrokerLink::name).collect(Collectors.joining(", ")));
        }
      });
    });
    health = vertx.eventBus().consumer(BusAddress.HEALTH.address("mqtt"), request -> {
      String detail = links.stream().map(l -> l.name() + (!l.connected() ? " disconnected"
              : l.subscribed() ? " connected" : " refused subscriptions " + l.refusedFilters()))
          .collect(Collectors.joining(", "));
      // Devices publish to every broker, so one reachable broker still receives everything; a
      // broker that refuses our subscriptions is a configuration fault that must not go unseen.
      boolean ready = links.stream().anyMatch(BrokerLink::subscribed)
          && links.stream().noneMatch(l -> l.connected() && !l.subscribed());
      request.reply(new JsonObject().put("ready", ready).put("detail", detail));
    });
    return Future.all(commands.completion(), health.completion(),
            provisioning == null ? Future.succeededFuture() : provisioning.completion())
        .compose(v -> Future.all(links.stream().map(BrokerLink::start).toList()));
  }

  /**
   * Device credentials into every broker's dynamic security: the reply names each broker's
   * outcome, and fails only when no broker took them (a broker that missed them — down at the
   * time — learns them at the next rotation).
   */
  private void provision(io.vertx.core.eventbus.Message<JsonObject> request) {
    String deviceId = request.body().getString("device_id");
    JsonArray commands = "delete".equals(request.body().getString("action"))
        ? DynamicSecurity.revoke(deviceId) : DynamicSecurity.provision(deviceId, request.body().getString("password"));
    List<Future<String>> outcomes = links.stream().map(link -> link.control(commands)
        .map(DynamicSecurity::firstError)
        .recover(e -> Future.succeededFuture(e.getMessage()))).toList();
    Future.join(outcomes).onComplete(done -> {
      JsonObject brokers = new JsonObject();
      boolean any = false;
      for (int i = 0; i < links.size(); i++) {
        String error = outcomes.get(i).result();
        brokers.put(links.get(i).name(), error == null ? "ok" : error);
        any |= error == null;
      }
      if (any) {
        request.reply(new JsonObject().put("brokers", brokers));
      } else {
        request.fail(503, "no broker took the credentials of " + deviceId + ": " + brokers.encode());
      }
    });
  }

  @Override
  public Future<?> stop() {
    return Future.join(links.stream().map(BrokerLink::stop).toList())
        .eventually(() -> Future.all(commands.unregister(), health.unregister(),
            provisioning == null ? Future.succeededFuture() : provisioning.unregister()));
  }

  private static String[] parse(String hostPort) {
    int colon = hostPort.lastIndexOf(':');
    if (colon <= 0 || colon == hostPort.length() - 1) {
      throw new StartupException("mqtt_bridge.brokers entries are host:port, not '" + hostPort + "'");
    }
    try {
      Integer.parseInt(hostPort.substring(colon + 1));
    } catch (NumberFormatException e) {
      throw new StartupException("mqtt_bridge.brokers entries are host:port, not '" + hostPort + "'");
    }
    return new String[] {hostPort.substring(0, colon), hostPort.substring(colon + 1)};
  }
}
