package io.iotmeter.lifecycle;

import io.vertx.core.Future;
import io.vertx.sqlclient.Pool;
import io.vertx.sqlclient.Tuple;

/** A command with no acknowledgement within the configured time becomes {@code timeout}. */
final class CommandTimeouts {

  private final Pool pool;
  private final long timeoutSeconds;

  CommandTimeouts(Pool pool, long timeoutSeconds) {
    this.pool = pool;
    this.timeoutSeconds = timeoutSeconds;
  }

  Future<Integer> run() {
    return pool.preparedQuery("UPDATE device_commands SET status = 'timeout', "
            + "ack_detail = 'no acknowledgement within ' || $1 || ' s' "
            + "WHERE status = 'pending' AND created_at < now() - make_interval(secs => $1)")
        .execute(Tuple.of(timeoutSeconds))
        .map(rows -> rows.rowCount());
  }
}
