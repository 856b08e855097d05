package io.iotmeter.sink;

import io.iotmeter.config.Settings;
import io.iotmeter.journal.SinkKind;
import io.iotmeter.archive.ObjectStore;
import io.iotmeter.archive.ObjectStores;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.ops.Periodic;
import io.iotmeter.ops.PlatformMetrics;
import io.vertx.core.Future;
import io.vertx.core.WorkerExecutor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The archive sink: every raw message in the S3 bucket ({@code iot-data}), grouped per device and
 * category; and the quarantine's evidence under {@code _quarantine/} and {@code _rejected/}.
 */
public final class ArchiveSinkVerticle extends JournalSinkVerticle {

  private static final Logger LOG = LoggerFactory.getLogger(ArchiveSinkVerticle.class);

  private ObjectStore store;
  private WorkerExecutor workers;
  private ArchiveWriter writer;
  private long evidenceTimer = -1;

  @Override
  protected SinkKind kind() {
    return SinkKind.ARCHIVE;
  }

  @Override
  protected Future<SinkWriter> openStore(Settings sinkConfig) {
    IngestMetrics metrics = IngestMetrics.of(PlatformMetrics.registry(config()));
    // The SDK blocks: writes run on workers of their own, so they never hold up other blocking work.
    workers = vertx.createSharedWorkerExecutor("archive-writes", sinkConfig.integer("parallel_puts"));
    // Connecting happens on the first write: a store that is down at startup is an outage the
    // feed retries, not a failed start.
    store = ObjectStores.open(config().getJsonObject("s3"));
    // A window's objects are written over half a window (see ArchiveWriter): the next window's
    // objects then still start after these end.
    java.time.Duration spread = java.time.Duration.ofMillis(Math.round(sinkConfig.number("window_s") * 500));
    writer = new ArchiveWriter(store, workers, metrics.minioStoreTimer(), vertx, sinkConfig.integer("parallel_puts"), spread,
        ArchiveWriter.MIN_PUTS_PER_S);
    EvidenceArchiver evidence = new EvidenceArchiver(store, pool, workers);
    evidenceTimer = Periodic.every(vertx, sinkConfig.whole("evidence_interval_ms"), "Archiving quarantined and rejected messages",
        LOG, () -> writer.ready().compose(v -> evidence.run()));
    return Future.succeededFuture(writer);
  }

  @Override
  protected Future<Void> pingStore() {
    return writer.ready();
  }

  @Override
  protected void readinessChanged(boolean ready) {
    IngestMetrics.of(PlatformMetrics.registry(config())).minioReady(ready);
  }

  @Override
  protected Future<Void> closeStore() {
    vertx.cancelTimer(evidenceTimer);
    return vertx.executeBlocking(() -> {
      store.close();
      return null;
    }, false).eventually(() -> workers.close()).mapEmpty();
  }
}
