package io.iotmeter.sink;

import io.iotmeter.config.Settings;
import io.iotmeter.journal.SinkKind;
import io.iotmeter.bus.BusAddress;
import io.iotmeter.ops.IngestMetrics;
import io.iotmeter.ops.PlatformMetrics;
import io.iotmeter.store.Database;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;

/**
 * What every sink verticle does alike: a journal connection pool, a {@link JournalFeed} that
 * delivers its messages, and an answer on {@code iot.health.<sink>}. A subclass only opens
 * and closes its store and says how a batch is written.
 */
public abstract class JournalSinkVerticle extends VerticleBase {

  protected Pool pool;
  private JournalFeed feed;
  private MessageConsumer<JsonObject> health;

  /** Which sink this is. */
  protected abstract SinkKind kind();

  /** Connects to the store (creating buckets or tables as needed) and returns the batch writer. */
  protected abstract Future<SinkWriter> openStore(Settings sinkConfig);

  /** Called after each write with whether the store took it (for the store's readiness gauge). */
  protected void readinessChanged(boolean ready) {
  }

  /** Whether the store answers right now (asked by /readyz through iot.health.<sink>). */
  protected abstract Future<Void> pingStore();

  /** Releases the store's resources. */
  protected Future<Void> closeStore() {
    return Future.succeededFuture();
  }

  @Override
  public final Future<?> start() {
    Settings sinkConfig = Settings.of(config(), "sinks." + kind().configName());
    pool = Database.pool(vertx, config().getJsonObject("postgres"), kind().configName() + "-sink-" + System.identityHashCode(this));
    return openStore(sinkConfig).compose(writer -> {
      feed = new JournalFeed(vertx, pool, kind(), writer, JournalFeed.Options.of(sinkConfig), owner(), this::pingStore,
          IngestMetrics.of(PlatformMetrics.registry(config())), this::readinessChanged);
      health = vertx.eventBus().consumer(BusAddress.HEALTH.address(kind().configName()), request -> pingStore()
          .onSuccess(v -> request.reply(new JsonObject().put("ready", feed.ready())
              .put("detail", feed.ready() ? "ok" : feed.lastError())))
          .onFailure(e -> request.reply(new JsonObject().put("ready", false)
              .put("detail", kind().configName() + " store unreachable: " + e.getMessage()))));
      return Future.all(feed.start(), health.completion());
    });
  }

  /**
   * This feed's name in the journal cursor's lease. A single node is the same owner after a
   * restart (it goes on at once, even after a crash left the lease running); a cluster node is
   * unique, so two nodes never take each other for the owner.
   */
  private String owner() {
    String host = java.lang.management.ManagementFactory.getRuntimeMXBean().getName();
    host = host.substring(host.indexOf('@') + 1);
    return vertx.isClustered() ? host + "/" + java.util.UUID.randomUUID() : host + "/standalone";
  }

  @Override
  public final Future<?> stop() {
    Future<Void> stopped = feed == null ? Future.succeededFuture() : feed.stop();
    return stopped
        .eventually(() -> health == null ? Future.succeededFuture() : health.unregister())
        .eventually(this::closeStore)
        .eventually(() -> pool.close());
  }
}
