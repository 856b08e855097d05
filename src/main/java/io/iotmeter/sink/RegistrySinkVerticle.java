package io.iotmeter.sink;

import io.iotmeter.config.Settings;
import io.iotmeter.journal.SinkKind;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.ops.PlatformMetrics;
import io.vertx.core.Future;

/** The registry sink: device status, last seen, firmware and command results in PostgreSQL. */
public final class RegistrySinkVerticle extends JournalSinkVerticle {

  @Override
  protected SinkKind kind() {
    return SinkKind.REGISTRY;
  }

  @Override
  protected Future<Void> pingStore() {
    return pool.query("SELECT 1").execute().mapEmpty();
  }

  @Override
  protected Future<SinkWriter> openStore(Settings sinkConfig) {
    return Future.succeededFuture(new RegistryWriter(pool, IngestMetrics.of(PlatformMetrics.registry(config()))));
  }
}
