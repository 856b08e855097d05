package io.iotmeter.support;

import io.iotmeter.audit.AckLedger;
import io.iotmeter.audit.AuditReport;
import io.iotmeter.audit.LoadLayout;
import io.iotmeter.audit.StoreAudit;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.Collection;

/**
 * The stores of a running platform (its effective configuration), for the tests' absence checks
 * and "stored exactly once" claims: {@link #await} waits until they are quiet — no journal row
 * waits for a sink, QuestDB applied its write-ahead log — and stay so for {@link #interval}
 * (a late copy would show in that time); only then does a test count, exactly, or run the
 * {@link StoreAudit} ({@link #audit}).
 */
public final class SettledStores {

  /** Time for the write itself on top of a sink's linger and recovery interval (a loaded machine). */
  private static final Duration WRITE_MARGIN = Duration.ofMillis(250);
  private static final Duration LIMIT = Duration.ofSeconds(60);

  private final JsonObject config;

  private SettledStores(JsonObject config) {
    this.config = config;
  }

  /** The stores a platform with this effective configuration writes to ({@code RunningPlatform.config()}). */
  public static SettledStores of(JsonObject config) {
    return new SettledStores(config);
  }

  /**
   * How long the stores must stay the same to count as settled: longer than any sink's linger (the
   * archive's window) plus its recovery interval, as configured — a copy written late would land
   * within it.
   */
  public Duration interval() {
    return interval(config);
  }

  /** {@link #interval()} of a platform with this configuration. */
  public static Duration interval(JsonObject config) {
    long longest = 0;
    JsonObject sinks = config.getJsonObject("sinks");
    for (String sink : sinks.fieldNames()) {
      JsonObject section = sinks.getJsonObject(sink);
      // The archive's batches wait up to a window (window_s), the others a linger (linger_ms).
      long linger = Math.max(section.getLong("linger_ms", 0L), Math.round(section.getDouble("window_s", 0.0) * 1000));
      longest = Math.max(longest, section.getLong("recovery_interval_ms") + linger);
    }
    return Duration.ofMillis(longest).plus(WRITE_MARGIN);
  }

  /** Waits until the stores are quiet and stay so for {@link #interval()}. */
  public void await() {
    StoreAudit.awaitSettled(config.getJsonObject("postgres"), questDb(), interval(), LIMIT);
  }

  /**
   * Waits until the stores settle, then audits the archive, the time series (QuestDB) and the
   * registry per key against what {@code ledger} says was acknowledged.
   */
  public AuditReport audit(AckLedger ledger, LoadLayout layout, Collection<String> devices) {
    await();
    StoreAudit audit = StoreAudit.of(ledger, layout, devices).archive(config.getJsonObject("s3"))
        .registry(config.getJsonObject("postgres"));
    StoreAudit.QuestDb questDb = questDb();
    if (questDb != null) {
      audit.timeSeries(questDb, null);
    }
    return audit.run();
  }

  /** QuestDB, or null when the time series is another store (the audit reads only QuestDB). */
  private StoreAudit.QuestDb questDb() {
    JsonObject timeseries = config.getJsonObject("timeseries");
    return "questdb".equals(timeseries.getString("store")) ? StoreAudit.QuestDb.of(timeseries.getJsonObject("questdb")) : null;
  }
}
