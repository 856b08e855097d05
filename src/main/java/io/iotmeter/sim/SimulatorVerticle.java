package io.iotmeter.sim;

import io.iotmeter.config.Settings;
import io.iotmeter.config.StartupException;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.shareddata.LocalMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * Runs the simulated meters of the {@code simulator} configuration section, each a real MQTT
 * client of the configured brokers (by default the platform's own endpoint). Their send times
 * are spread evenly over the interval, so a thousand meters do not publish in the same
 * millisecond.
 *
 * <p>A device id runs once per node: a second instance (or another simulator) that lists the
 * same id fails to start, since two clients with one id would take each other's session.
 */
public final class SimulatorVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(SimulatorVerticle.class);
  private static final String RUNNING = "iot.simulator.meters";

  private final List<SimulatedMeter> meters = new ArrayList<>();

  @Override
  public Future<?> start() {
    SimulatorConfig simulator = SimulatorConfig.from(config());
    LocalMap<String, String> running = vertx.sharedData().getLocalMap(RUNNING);
    List<MeterSpec> specs = simulator.meters();
    for (int i = 0; i < specs.size(); i++) {
      MeterSpec spec = specs.get(i);
      if (running.putIfAbsent(spec.deviceId(), deploymentID()) != null) {
        release();
        return Future.failedFuture(new StartupException("Simulated meter " + spec.deviceId() + " already runs on this node"));
      }
      meters.add(new SimulatedMeter(vertx, spec, simulator.settings(), (double) i / specs.size()));
    }
    LOG.info("Simulating {} meters ({} DC, {} AC, {} traction) on {}", meters.size(),
        specs.stream().filter(s -> s.type() == MeterType.DC).count(),
        specs.stream().filter(s -> s.type() == MeterType.AC).count(),
        specs.stream().filter(s -> s.type() == MeterType.TRACTION).count(), simulator.settings().provisioned().brokers());
    boolean secured = io.iotmeter.security.SecuritySettings.of(config()).enabled();
    Future<?> registered = Future.join(meters.stream().filter(m -> m.train() != null).map(m -> register(m, 10)).toList());
    Future<?> provisioned = registered.compose(v -> secured
        ? Future.join(meters.stream().map(m -> provision(m, 10)).toList()) : Future.succeededFuture());
    return provisioned.compose(v -> Future.join(meters.stream().map(SimulatedMeter::start).toList()));
  }

  /**
   * With security on a meter needs credentials: the simulator has the platform issue them, as an
   * operator would through {@code POST /api/devices/{id}/credentials}, so a fresh start shows
   * live data at once. The identity verticle may still be starting on another node: a few tries.
   */
  private Future<Void> provision(SimulatedMeter meter, int triesLeft) {
    return vertx.eventBus().<io.vertx.core.json.JsonObject>request(io.iotmeter.bus.BusAddress.IDENTITY_MANAGE.address(),
            new io.vertx.core.json.JsonObject().put("action", "issue_device").put("device_id", meter.deviceId()))
        .<Void>map(reply -> {
          meter.useCredentials(new MeterCredentials(reply.body().getString("username"), reply.body().getString("password")));
          return null;
        })
        .recover(e -> {
          if (e instanceof io.vertx.core.eventbus.ReplyException r && r.failureType() == io.vertx.core.eventbus.ReplyFailure.NO_HANDLERS
              && !Settings.of(config(), "simulator").text("platform_url").isEmpty()) {
            return provisionOverHttp(meter); // a simulator of its own, beside a remote platform
          }
          boolean notRegistered = e instanceof io.vertx.core.eventbus.ReplyException r && r.failureCode() == 404;
          if (notRegistered || triesLeft <= 1) {
            LOG.warn("Simulated meter {} got no credentials ({}); the platform will refuse it{}", meter.deviceId(), e.getMessage(),
                notRegistered ? " — register it first (POST /api/devices)" : "");
            return Future.succeededFuture();
          }
          return Future.<Void>future(p -> vertx.setTimer(1000, id -> p.complete())).compose(v -> provision(meter, triesLeft - 1));
        });
  }

  /**
   * A traction meter is registered with its train's billing metadata (train, car, consumption
   * point, traction system) before it connects, as an operator would register it; a meter the
   * registry knows is left as it is. Through the identity verticle, or the REST API of a remote
   * platform (then when its credentials are issued).
   */
  private Future<Void> register(SimulatedMeter meter, int triesLeft) {
    io.vertx.core.json.JsonObject request = new io.vertx.core.json.JsonObject().put("action", "register_device")
        .put("device_id", meter.deviceId()).put("device_name", "Traction meter " + meter.deviceId())
        .put("device_type", TRACTION_TYPE).put("metadata", meter.train().metadata(meter.deviceId()));
    return vertx.eventBus().<io.vertx.core.json.JsonObject>request(io.iotmeter.bus.BusAddress.IDENTITY_MANAGE.address(), request)
        .<Void>mapEmpty()
        .recover(e -> {
          boolean remote = e instanceof io.vertx.core.eventbus.ReplyException r
              && r.failureType() == io.vertx.core.eventbus.ReplyFailure.NO_HANDLERS
              && !Settings.of(config(), "simulator").text("platform_url").isEmpty();
          if (remote) {
            return Future.succeededFuture();
          }
          if (triesLeft <= 1) {
            LOG.warn("Simulated meter {} is not registered with its train's metadata ({})", meter.deviceId(), e.getMessage());
            return Future.succeededFuture();
          }
          return Future.<Void>future(p -> vertx.setTimer(1000, id -> p.complete())).compose(v -> register(meter, triesLeft - 1));
        });
  }

  static final String TRACTION_TYPE = "traction_meter_dc";

  private io.vertx.ext.web.client.WebClient http;

  /** {@code POST <platform_url>/api/devices/{id}/credentials} with {@code simulator.api_key}, as an operator would. */
  private Future<Void> provisionOverHttp(SimulatedMeter meter) {
    io.vertx.core.json.JsonObject simulator = config().getJsonObject("simulator");
    if (http == null) {
      http = io.vertx.ext.web.client.WebClient.create(vertx);
    }
    String base = simulator.getString("platform_url").replaceAll("/+$", "");
    String url = base + "/api/devices/" + meter.deviceId() + "/credentials";
    String authorization = "Bearer " + Settings.of(config(), "simulator").text("api_key");
    return http.postAbs(url).putHeader("Authorization", authorization).send()
        .compose(response -> response.statusCode() != 404 ? Future.succeededFuture(response)
            // A generated meter the registry does not know yet: register it, as an operator would, then ask again.
            : http.postAbs(base + "/api/devices").putHeader("Authorization", authorization)
                .sendJsonObject(new io.vertx.core.json.JsonObject().put("device_id", meter.deviceId())
                    .put("device_name", "Simulated meter " + meter.deviceId())
                    .put("device_type", switch (meter.type()) {
                      case DC -> "power_meter_dc";
                      case AC -> "power_meter_ac";
                      case TRACTION -> TRACTION_TYPE;
                    })
                    .put("metadata", meter.train() == null ? new io.vertx.core.json.JsonObject()
                        : meter.train().metadata(meter.deviceId())))
                .compose(created -> http.postAbs(url).putHeader("Authorization", authorization).send()))
        .<Void>compose(response -> {
          if (response.statusCode() == 201) {
            io.vertx.core.json.JsonObject issued = response.bodyAsJsonObject();
            meter.useCredentials(new MeterCredentials(issued.getString("username"), issued.getString("password")));
            return Future.succeededFuture();
          }
          LOG.warn("Simulated meter {} got no credentials from {}: HTTP {} {}", meter.deviceId(), url, response.statusCode(),
              response.bodyAsString());
          return Future.succeededFuture();
        })
        .recover(e -> {
          LOG.warn("Simulated meter {} got no credentials from {}: {}", meter.deviceId(), url, e.getMessage());
          return Future.succeededFuture();
        });
  }

  @Override
  public Future<?> stop() {
    if (http != null) {
      http.close();
    }
    return Future.join(meters.stream().map(SimulatedMeter::stop).toList()).onComplete(done -> release());
  }

  /** The meters this verticle runs, in configuration order (explicit ones first, then generated ones). */
  public List<SimulatedMeter> meters() {
    return List.copyOf(meters);
  }

  public Optional<SimulatedMeter> meter(String deviceId) {
    return meters.stream().filter(m -> m.deviceId().equals(deviceId)).findFirst();
  }

  private void release() {
    LocalMap<String, String> running = vertx.sharedData().getLocalMap(RUNNING);
    meters.forEach(m -> running.remove(m.deviceId(), deploymentID()));
  }
}
