package io.iotmeter.mqtt;

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

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.time.Instant;

/**
 * The device endpoint: the platform as the MQTT 3.1.1 broker its meters connect to. Several
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
    JsonObject mqtt = config().getJsonObject("mqtt");
    int port = mqtt.getInteger("port");
    MqttLimits limits = MqttLimits.fromConfig(mqtt);
    int window = limits.window();
    Duration expiry = Duration.ofSeconds(mqtt.getLong("session_expiry_s", 3600L));
    IngestMetrics metrics = IngestMetrics.of(PlatformMetrics.registry(config()));
    BrokerState broker = (BrokerState) vertx.sharedData().getLocalMap("iot.mqtt.server")
        .computeIfAbsent(BROKER_KEY, k -> new BrokerState(limits, metrics::error));
    io.micrometer.core.instrument.Gauge.builder("mqtt_collector.mqtt.clients", broker, BrokerState::connectedCount)
        .description("MQTT clients connected to this node's device endpoint").register(PlatformMetrics.registry(config()));
    Handoff handoff = new Handoff(vertx, Duration.ofMillis(mqtt.getLong("handoff_timeout_ms", 10_000L)),
        mqtt.getInteger("handoff_max_in_flight", 500), mqtt.getLong("handoff_max_in_flight_bytes", 16L << 20));

    TlsSettings tls = TlsSettings.of("mqtt.tls", mqtt.getJsonObject("tls"));
    boolean plain = mqtt.getBoolean("plain_enabled", true);
    if (!plain && !tls.enabled()) {
      return Future.failedFuture(new StartupException("mqtt.plain_enabled is false and mqtt.tls.enabled is false: "
          + "the device endpoint would listen nowhere"));
    }
    MqttServerOptions tlsOptions = null;
    if (tls.enabled()) {
      try {
        tlsOptions = tls.applyTo(serverOptions(mqtt, mqtt.getJsonObject("tls").getInteger("port", 8883)));
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
    expiryTimer = vertx.setPeriodic(60_000, id -> {
      int expired = broker.expire(Instant.now(), expiry);
      if (expired > 0) {
        LOG.info("Expired {} MQTT sessions idle for more than {} s", expired, expiry.toSeconds());
      }
    });
    return Future.all(listening)
        .onSuccess(s -> metrics.connection("endpoint-" + System.identityHashCode(this), true))
        .compose(s -> Future.all(commands.completion(), health.completion()));
  }

  private static MqttServerOptions serverOptions(JsonObject mqtt, int port) {
    MqttServerOptions options = new MqttServerOptions()
        .setHost(mqtt.getString("host", "0.0.0.0"))
        .setPort(port)
        .setMaxMessageSize(mqtt.getInteger("max_message_bytes", 256 * 1024))
        .setMaxClientIdLength(128)
        .setTimeoutOnConnect(mqtt.getInteger("connect_timeout_s", 30));
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
        sessionRouting::onSessionCommand, authenticator).accept());
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
    return Future.all(commands.unregister(), health.unregister())
        .eventually(() -> Future.join(servers.stream().map(MqttServer::close).toList()));
  }
}
