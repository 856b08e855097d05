package io.iotmeter.boot;

import io.iotmeter.api.ApiVerticle;
import io.iotmeter.intake.IntakeVerticle;
import io.iotmeter.lifecycle.LifecycleVerticle;
import io.iotmeter.mqtt.MqttBridgeVerticle;
import io.iotmeter.mqtt.MqttServerVerticle;
import io.iotmeter.api.OpsHttpVerticle;
import io.iotmeter.sink.ArchiveSinkVerticle;
import io.iotmeter.sink.RegistrySinkVerticle;
import io.iotmeter.sim.SimulatorVerticle;
import io.iotmeter.sink.TimeSeriesSinkVerticle;
import io.vertx.core.Deployable;

import java.util.function.Supplier;

/**
 * Every verticle a node can deploy, under the name the {@code deploy} configuration uses, in
 * start order: the sinks first (subscribed before anything is accepted), then the intake, then
 * the MQTT side that feeds it, then the API, so it only answers once everything behind it runs;
 * the simulated meters last: they connect to an endpoint that is already up and leave before
 * it stops.
 * Undeployment runs in the reverse order: MQTT stops taking messages before the intake and
 * the sinks finish theirs.
 */
public enum VerticleCatalog {

  ARCHIVE_SINK("archive_sink", ArchiveSinkVerticle::new),
  TIMESERIES_SINK("timeseries_sink", TimeSeriesSinkVerticle::new),
  REGISTRY_SINK("registry_sink", RegistrySinkVerticle::new),
  LIFECYCLE("lifecycle", LifecycleVerticle::new),
  ENERGY("energy", io.iotmeter.energy.EnergyVerticle::new),
  LIVE_FEED("live_feed", io.iotmeter.live.LiveFeedVerticle::new),
  LIVE_EVENTS("live_events", io.iotmeter.live.LiveEventsVerticle::new),
  IDENTITY("identity", io.iotmeter.security.IdentityVerticle::new),
  INTAKE("intake", IntakeVerticle::new),
  MQTT_SERVER("mqtt_server", MqttServerVerticle::new),
  MQTT_BRIDGE("mqtt_bridge", MqttBridgeVerticle::new),
  API("api", ApiVerticle::new),
  TCP_BRIDGE("tcp_bridge", io.iotmeter.bridge.TcpBridgeVerticle::new),
  OPS("ops", OpsHttpVerticle::new),
  SIMULATOR("simulator", SimulatorVerticle::new);

  private final String configName;
  private final Supplier<Deployable> factory;

  VerticleCatalog(String configName, Supplier<Deployable> factory) {
    this.configName = configName;
    this.factory = factory;
  }

  public String configName() {
    return configName;
  }

  public Supplier<Deployable> factory() {
    return factory;
  }
}
