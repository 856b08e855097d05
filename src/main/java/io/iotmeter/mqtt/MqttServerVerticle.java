package io.iotmeter.mqtt;

import io.iotmeter.config.Settings;
import io.iotmeter.config.StartupException;
import io.iotmeter.bus.BusAddress;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.ops.PlatformMetrics;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.mqtt.MqttServer;
import io.vertx.mqtt.MqttServerOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.iotmeter.security.TlsSettings;

import java.util.ArrayList;
import java.util.List;
import java.time.Instant;

/**
 * The device endpoint: the platform as the MQTT 3.1.1 and 5 broker its meters connect to. Several
 * instances may share the port; they share this node's {@link BrokerState}.
 *
 * <p>Also the consumer of {@code iot.command.send}: a command is published on
 * {@code iot/{device_id}/command} at QoS 2 to the device's subscription, or queued in its
 * persistent session while it is offline.
 */
public final class MqttServerVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(MqttServerVerticle.class);
  private static final String BROKER_KEY = "broker";

  private final List<MqttServer> servers = new ArrayList<>();
  /** This instance's admitted connections; touched on its event loop only. */
  private final java.util.Set<DeviceConnection> live = new java.util.HashSet<>();
  private MessageConsumer<JsonObject> commands;
  private MessageConsumer<JsonObject> health;
  private long expiryTimer;
  private DeviceAuthenticator authenticator;

  static String clientAddress(String clientId, String connectionId) {
    return BusAddress.MQTT_CLIENT.address(clientId + "#" + connectionId);
  }

  /** The client id in a connection's address (the inverse of {@link #clientAddress}). */
  static String clientIdOf(String connectionAddress) {
    String rest = connectionAddress.substring(BusAddress.MQTT_CLIENT.address("").length());
    return rest.substring(0, rest.lastIndexOf('#'));
  }

  @Override
  public Future<?> start() {
    Settings mqtt = Settings.of(config(), "mqtt");
    int port = mqtt.integer("port");
    MqttLimits limits = MqttLimits.of(mqtt);
    int window = limits.window();
    IngestMetrics metrics = IngestMetrics.of(PlatformMetrics.registry(config()));
    BrokerState broker = (BrokerState) vertx.sharedData().getLocalMap("iot.mqtt.server")
        .computeIfAbsent(BROKER_KEY, k -> new BrokerState(limits, metrics::error));
    io.micrometer.core.instrument.Gauge.builder("mqtt_collector.mqtt.clients", broker, BrokerState::connectedCount)
        .description("MQTT clients connected to this node's device endpoint").register(PlatformMetrics.registry(config()));
    Handoff handoff = new Handoff(vertx, mqtt.millis("handoff_timeout_ms"), mqtt.integer("handoff_max_in_flight"),
        mqtt.whole("handoff_max_in_flight_bytes"));

    TlsSettings tls = TlsSettings.of("mqtt.tls", mqtt.section("tls").json());
    boolean plain = mqtt.flag("plain_enabled");
    if (!plain && !tls.enabled()) {
      return Future.failedFuture(new StartupException("mqtt.plain_enabled is false and mqtt.tls.enabled is false: "
          + "the device endpoint would listen nowhere"));
    }
    MqttServerOptions tlsOptions = null;
    if (tls.enabled()) {
      try {
        tlsOptions = tls.applyTo(serverOptions(mqtt, mqtt.section("tls").integer("port")));
        tls.exportExpiry(PlatformMetrics.registry(config()), "mqtt");
      } catch (IllegalArgumentException e) {
        return Future.failedFuture(new StartupException(e.getMessage()));
      }
    }
    authenticator = new DeviceAuthenticator(vertx, io.iotmeter.security.SecuritySettings.of(config()), metrics);
    CommandRouting sessionRouting = new CommandRouting(vertx, broker);
    List<Future<MqttServer>> listening = new ArrayList<>();
    if (plain) {
      listening.add(listen(serverOptions(mqtt, port), broker, handoff, metrics, window, sessionRouting, "mqtt.port"));
    }
    if (tlsOptions != null) {
      listening.add(listen(tlsOptions, broker, handoff, metrics, window, sessionRouting, "mqtt.tls.port"));
    }

    CommandRouting routing = new CommandRouting(vertx, broker);
    commands = vertx.eventBus().consumer(BusAddress.COMMAND_SEND.address(), routing::onCommand);
    health = vertx.eventBus().consumer(BusAddress.HEALTH.address("mqtt"), request -> request.reply(
        new JsonObject().put("ready", true).put("detail", broker.connectedCount() + " clients connected")));
    // Memory only: a client that comes back finds an expired session gone at once (BrokerState.connect).
    expiryTimer = vertx.setPeriodic(60_000, id -> {
      int expired = broker.expire(Instant.now());
      if (expired > 0) {
        LOG.info("Expired {} MQTT sessions whose client stayed away longer than their expiry interval", expired);
      }
    });
    return Future.all(listening)
        .onSuccess(s -> metrics.connection("endpoint-" + System.identityHashCode(this), true))
        .compose(s -> Future.all(commands.completion(), health.completion()));
  }

  /** The longest client id the endpoint admits (characters): a device id (≤ 100) and a suffix. */
  static final int MAX_CLIENT_ID_LENGTH = 128;

  private static MqttServerOptions serverOptions(Settings mqtt, int port) {
    MqttServerOptions options = new MqttServerOptions()
        .setHost(mqtt.text("host"))
        .setPort(port)
        .setMaxMessageSize(mqtt.integer("max_message_bytes"))
        .setMaxClientIdLength(MAX_CLIENT_ID_LENGTH)
        .setTimeoutOnConnect(mqtt.integer("connect_timeout_s"))
        // A client without an id gets one of its device's (DeviceConnection), not a random UUID.
        .setAutoClientId(false);
    // Half-open sockets of clients that asked for no keep-alive are found by TCP keep-alive and
    // by DeviceConnection's idle limit (vertx-mqtt owns the channel's idle handler).
    options.setTcpKeepAlive(true);
    return options;
  }

  private Future<MqttServer> listen(MqttServerOptions options, BrokerState broker, Handoff handoff, IngestMetrics metrics,
                                    int window, CommandRouting sessionRouting, String setting) {
    MqttServer server = MqttServer.create(vertx, options);
    servers.add(server);
    server.endpointHandler(endpoint -> new DeviceConnection(vertx, endpoint, broker, handoff, metrics, window,
        sessionRouting::onSessionCommand, authenticator, live).accept());
    server.exceptionHandler(e -> {
      metrics.error("mqtt_protocol");
      LOG.debug("MQTT endpoint: {}", e.getMessage());
    });
    return server.listen()
        .recover(e -> Future.failedFuture(StartupException.explainListenFailure(e, "MQTT", options.getPort(), setting)));
  }

  @Override
  public Future<?> stop() {
    vertx.cancelTimer(expiryTimer);
    IngestMetrics.of(PlatformMetrics.registry(config())).connection("endpoint-" + System.identityHashCode(this), false);
    authenticator.close();
    List.copyOf(live).forEach(DeviceConnection::serverStopping);
    return Future.all(commands.unregister(), health.unregister())
        .eventually(() -> Future.join(servers.stream().map(MqttServer::close).toList()));
  }
}
