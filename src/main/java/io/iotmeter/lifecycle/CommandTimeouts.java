package io.iotmeter.lifecycle;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;

/** A command with no acknowledgement within the configured time becomes {@code timeout}. */
final class CommandTimeouts {

  private final Pool pool;
  private final long timeoutSeconds;

  CommandTimeouts(Pool pool, long timeoutSeconds) {
    this.pool = pool;
    this.timeoutSeconds = timeoutSeconds;
  }

  Future<Integer> run() {
    return io.iotmeter.registry.RegistryWrites.timeOutCommands(pool, timeoutSeconds);
  }
}
