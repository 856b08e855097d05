package io.iotmeter.sink;

import io.iotmeter.config.Settings;
import io.iotmeter.energy.EnergyMarks;
import io.iotmeter.energy.EnergySettings;
import io.iotmeter.journal.SinkKind;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.ops.PlatformMetrics;
import io.iotmeter.timeseries.TimeSeriesStore;
import io.iotmeter.timeseries.TimeSeriesStores;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;

/** The time-series sink: every measurement as a point in InfluxDB (QuestDB in the embedded profile). */
public final class TimeSeriesSinkVerticle extends JournalSinkVerticle {

  private TimeSeriesStore store;
  private WorkerExecutor workers;

  @Override
  protected SinkKind kind() {
    return SinkKind.TIMESERIES;
  }

  @Override
  protected Future<SinkWriter> openStore(Settings sinkConfig) {
    IngestMetrics metrics = IngestMetrics.of(PlatformMetrics.registry(config()));
    workers = vertx.createSharedWorkerExecutor("timeseries-writes", 2);
    return workers.executeBlocking(() -> {
      store = TimeSeriesStores.open(config().getJsonObject("timeseries"));
      EnergySettings energy = EnergySettings.of(config());
      return (SinkWriter) new TimeSeriesWriter(store, workers, sinkConfig.integer("max_points"),
          metrics.influxWriteTimer(), energy.enabled() ? new EnergyMarks(energy) : null, pool);
    }, false);
  }

  @Override
  protected Future<Void> pingStore() {
    return workers.executeBlocking(() -> {
      store.ping();
      return null;
    }, false);
  }

  @Override
  protected void readinessChanged(boolean ready) {
    IngestMetrics.of(PlatformMetrics.registry(config())).influxReady(ready);
  }

  @Override
  protected Future<Void> closeStore() {
    return workers.executeBlocking(() -> {
      if (store != null) {
        store.close();
      }
      return null;
    }, false).eventually(() -> workers.close()).mapEmpty();
  }
}
