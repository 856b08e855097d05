package io.iotmeter.lifecycle;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;

/**
 * The protocol's liveness rule, for every device at once: a device is offline when nothing
 * arrived for longer than {@code 2 × max(send_interval_s, hello_interval_s)} of its own
 * configuration (defaults when unknown). One statement per check, whatever the number of
 * devices; it flips each silent device from online to offline exactly once and raises one
 * {@code device_offline} alert for it — on one node or many, since the database decides.
 * Traffic or an {@code online} status brings the device back (the registry sink).
 */
final class LivenessCheck {

  private final Pool pool;
  private final int defaultSendInterval;
  private final int defaultHelloInterval;

  LivenessCheck(Pool pool, int defaultSendInterval, int defaultHelloInterval) {
    this.pool = pool;
    this.defaultSendInterval = defaultSendInterval;
    this.defaultHelloInterval = defaultHelloInterval;
  }

  /** Marks silent devices offline (the registry's statement); the future holds how many. */
  Future<Integer> run() {
    return io.iotmeter.registry.RegistryWrites.markSilentOffline(pool, defaultSendInterval, defaultHelloInterval);
  }
}
