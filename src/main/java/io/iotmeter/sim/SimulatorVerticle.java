package io.iotmeter.sim;

import io.iotmeter.boot.StartupException;
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
    LOG.info("Simulating {} meters ({} DC, {} AC) on {}", meters.size(),
        specs.stream().filter(s -> s.type() == MeterType.DC).count(),
        specs.stream().filter(s -> s.type() == MeterType.AC).count(), simulator.settings().provisioned().brokers());
    return Future.join(meters.stream().map(SimulatedMeter::start).toList());
  }

  @Override
  public Future<?> stop() {
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
