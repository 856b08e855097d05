package io.iotmeter.energy;

import io.iotmeter.journal.Journal;
import io.iotmeter.journal.SinkKind;
import io.iotmeter.ops.ClusterSingleton;
import io.iotmeter.ops.Periodic;
import io.iotmeter.ops.PlatformMetrics;
import io.iotmeter.protocol.DeviceDefaults;
import io.iotmeter.store.Database;
import io.iotmeter.timeseries.MetricSample;
import io.iotmeter.timeseries.TimeSeriesStore;
import io.iotmeter.timeseries.TimeSeriesStores;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Future;
import io.vertx.core.VerticleBase;
import io.vertx.core.WorkerExecutor;
import io.vertx.core.json.JsonObject;
import io.vertx.sqlclient.Pool;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Compiles every meter's energy billing data, period by period ({@link PeriodCompiler}), from the
 * time series: a period the time-series sink marked ({@link EnergyMarks}) is compiled once it is
 * due — its end plus {@code energy.grace_s}, or shortly after late data for it was stored — and
 * the result is a new version only when it differs from the latest one (with its reason); earlier
 * versions are never touched.
 *
 * <p>One instance in the cluster compiles (the holder of the cluster-wide lock
 * {@code iot.energy}); the others stand by and take over when its node leaves. Even two compilers
 * at once would write one version per result: a version's number is part of the key.
 */
public final class EnergyVerticle extends VerticleBase {

  private static final Logger LOG = LoggerFactory.getLogger(EnergyVerticle.class);
  static final String LOCK = "iot.energy";
  /** Points one period's compilation may read (a 1 Hz meter sends about 15 series × 900 s around a period). */
  private static final int MAX_POINTS = 200_000;
  /** How long a compilation waits for the store to apply what was written before it. */
  private static final Duration STORE_SETTLE = Duration.ofSeconds(10);
  private static final long COMPLETENESS_INTERVAL_MS = 10 * 60_000;
  private static final long PRUNE_INTERVAL_MS = 60 * 60_000;

  private EnergySettings settings;
  private Pool pool;
  private WorkerExecutor workers;
  private TimeSeriesStore store;
  private ClusterSingleton singleton;
  private final List<Long> timers = new ArrayList<>();
  private MeterRegistry metrics;
  private final AtomicLong due = new AtomicLong();
  private final AtomicLong lagMs = new AtomicLong();
  private final AtomicLong minCompleteness = new AtomicLong(1_000_000);
  private final AtomicLong incompleteMeters = new AtomicLong();
  private final Map<EnergyPeriod.EnergyQuality, Counter> compiled = new java.util.EnumMap<>(EnergyPeriod.EnergyQuality.class);
  private final Map<String, Counter> corrections = new HashMap<>();
  private Counter conflicts;

  @Override
  public Future<?> start() {
    settings = EnergySettings.of(config());
    metrics = PlatformMetrics.registry(config());
    Gauge.builder("iot_meter.energy.periods.due", due, AtomicLong::get)
        .description("Meter periods whose compilation is due now").register(metrics);
    Gauge.builder("iot_meter.energy.compile.lag.seconds", lagMs, v -> v.get() / 1000.0)
        .description("How long the longest-due period has waited for its compilation").register(metrics);
    Gauge.builder("iot_meter.energy.completeness.yesterday.min.ratio", minCompleteness, v -> v.get() / 1e6)
        .description("The least complete meter's periods of yesterday (UTC) compiled, of those expected (1 on a standby node)")
        .register(metrics);
    Gauge.builder("iot_meter.energy.meters.incomplete.yesterday", incompleteMeters, AtomicLong::get)
        .description("Meters with a period of yesterday (UTC) missing").register(metrics);
    // Every series from the first scrape, at 0 (rate() and the alert rules need them before the first event).
    for (EnergyPeriod.EnergyQuality quality : EnergyPeriod.EnergyQuality.values()) {
      compiled.put(quality, Counter.builder("iot_meter.energy.periods.compiled").description("Period versions written, by energy quality")
          .tag("energy", quality.wireName()).register(metrics));
    }
    for (String reason : List.of(EnergyVersion.LATE_DATA, EnergyVersion.RECOMPILED)) {
      corrections.put(reason, Counter.builder("iot_meter.energy.corrections").description("Versions after the first, by reason")
          .tag("reason", reason).register(metrics));
    }
    conflicts = Counter.builder("iot_meter.energy.compile.conflicts")
        .description("Versions another compiler had written first (two compiling nodes: the first one's stands)").register(metrics);
    if (!settings.enabled()) {
      LOG.info("Energy billing is off (energy.enabled: false): no period is marked or compiled");
      return Future.succeededFuture();
    }
    pool = Database.pool(vertx, config().getJsonObject("postgres"), "energy-" + System.identityHashCode(this));
    workers = vertx.createSharedWorkerExecutor("energy-compile", 1);
    singleton = ClusterSingleton.start(vertx, LOCK, this::compileHere);
    return Future.succeededFuture();
  }

  /** Compiles the due periods, refreshes the completeness gauges and prunes the marks: once this instance holds the lock. */
  private void compileHere() {
    LOG.info("Energy billing: this node compiles the periods");
    timers.add(Periodic.every(vertx, settings.interval().toMillis(), "energy compilation", LOG, this::compileDue));
    timers.add(Periodic.every(vertx, COMPLETENESS_INTERVAL_MS, "energy completeness", LOG, this::refreshCompleteness));
    timers.add(Periodic.every(vertx, PRUNE_INTERVAL_MS, "energy marks pruning", LOG,
        () -> EnergyStore.prune(pool, settings.stateRetention())));
    refreshCompleteness();
  }

  @Override
  public Future<?> stop() {
    if (singleton != null) {
      singleton.stopWaiting();
    }
    timers.forEach(vertx::cancelTimer);
    Future<Void> closed = workers == null ? Future.succeededFuture() : workers.executeBlocking(() -> {
      if (store != null) {
        store.close();
      }
      return null;
    }, false).eventually(() -> workers.close()).mapEmpty();
    return closed.eventually(() -> pool == null ? Future.succeededFuture() : pool.close())
        .onComplete(v -> {
          if (singleton != null) {
            singleton.release();
          }
        });
  }

  /** One round: the due periods (up to max_compile_batch) compiled and committed; returns how many versions were written. */
  Future<Integer> compileDue() {
    return EnergyStore.dueBacklog(pool).compose(backlog -> {
      due.set(backlog[0]);
      lagMs.set(backlog[1]);
      return backlog[0] == 0 ? Future.succeededFuture(0) : EnergyStore.due(pool, settings.maxBatch()).compose(this::compile);
    });
  }

  private Future<Integer> compile(List<EnergyStore.Due> candidates) {
    // Only periods whose data the time-series store holds: the oldest message it still has to
    // store (if any) came after the period's compilation was due.
    return Journal.backlog(pool, SinkKind.TIMESERIES).compose(backlog -> {
      List<EnergyStore.Due> ready = candidates.stream()
          .filter(d -> backlog.oldest() == null || backlog.oldest().isAfter(d.periodStart().plus(settings.period()).plus(settings.grace())))
          .toList();
      if (ready.isEmpty()) {
        return Future.succeededFuture(0);
      }
      List<String> ids = ready.stream().map(EnergyStore.Due::deviceId).distinct().toList();
      return Future.all(EnergyStore.metadata(pool, ids), EnergyStore.resets(pool, ready, settings.period()),
              EnergyStore.latest(pool, ready))
          .compose(all -> workers.executeBlocking(() -> compileAll(ready, all.resultAt(0), all.resultAt(1), all.resultAt(2)), false))
          .compose(versions -> pool.withTransaction(tx -> EnergyStore.commit(tx, versions, ready)).map(written -> {
            for (EnergyVersion v : written) {
              compiled.get(v.period().energy()).increment();
              if (v.version() > 1) {
                corrections.get(v.reason()).increment();
              }
            }
            conflicts.increment(versions.size() - written.size());
            return written.size();
          }));
    });
  }

  /** On the worker: reads each period's samples and compiles it; returns the versions to write (results that changed). */
  private List<EnergyVersion> compileAll(List<EnergyStore.Due> ready, Map<String, JsonObject> metadata,
                                         Map<String, List<Instant>> resets, Map<String, EnergyVersion> latest) {
    if (store == null) {
      store = TimeSeriesStores.open(config().getJsonObject("timeseries"));
    }
    if (!store.awaitWrites(STORE_SETTLE)) {
      LOG.warn("Energy billing: the time-series store has not applied its writes after {} s; compiling what it shows",
          STORE_SETTLE.toSeconds());
    }
    List<EnergyVersion> versions = new ArrayList<>();
    for (EnergyStore.Due d : ready) {
      JsonObject meta = metadata.getOrDefault(d.deviceId(), new JsonObject());
      Instant start = d.periodStart();
      Instant end = start.plus(settings.period());
      List<MetricSample> samples = store.query(d.deviceId(), start.minus(settings.period()), end.plus(settings.period()),
          Optional.empty(), MAX_POINTS);
      PeriodCompiler.Inputs inputs = inputs(start, end, cadence(meta), samples, resets.getOrDefault(d.deviceId(), List.of()),
          new PeriodCompiler.Clock(d.minDelayMs(), d.setBack()));
      if (!hasSampleWithin(inputs)) {
        LOG.warn("Energy billing: no sample of {} in the period from {} in the time-series store; nothing compiled", d.deviceId(), start);
        continue;
      }
      EnergyPeriod period = PeriodCompiler.compile(inputs);
      String consumptionPoint = DeviceMetadata.consumptionPoint(d.deviceId(), meta);
      String train = DeviceMetadata.train(meta);
      EnergyVersion previous = latest.get(d.key());
      if (previous != null && previous.sameAs(consumptionPoint, train, period)) {
        continue;
      }
      String reason = previous == null ? EnergyVersion.INITIAL
          : d.markedAt().isAfter(previous.compiledAt()) ? EnergyVersion.LATE_DATA : EnergyVersion.RECOMPILED;
      versions.add(new EnergyVersion(d.deviceId(), consumptionPoint, train, period, previous == null ? 1 : previous.version() + 1,
          reason, Instant.now(), 0));
    }
    return versions;
  }

  /** The compiler's inputs from the stored series around the period. */
  static PeriodCompiler.Inputs inputs(Instant start, Instant end, Duration cadence, List<MetricSample> samples,
                                      List<Instant> resets, PeriodCompiler.Clock clock) {
    Map<String, List<PeriodCompiler.Point>> registers = new HashMap<>();
    List<PeriodCompiler.Point> active = new ArrayList<>();
    List<PeriodCompiler.Point> reactive = new ArrayList<>();
    Map<Instant, double[]> positions = new java.util.TreeMap<>();
    for (MetricSample s : samples) {
      PeriodCompiler.Point point = new PeriodCompiler.Point(s.time(), s.value());
      switch (s.metric()) {
        case PeriodCompiler.ACTIVE_IMPORT, PeriodCompiler.ACTIVE_EXPORT, PeriodCompiler.REACTIVE_IMPORT,
             PeriodCompiler.REACTIVE_EXPORT -> registers.computeIfAbsent(s.metric(), m -> new ArrayList<>()).add(point);
        case io.iotmeter.derived.DerivedPower.ACTIVE -> active.add(point);
        case io.iotmeter.derived.DerivedPower.REACTIVE -> reactive.add(point);
        case PeriodCompiler.LATITUDE -> positions.computeIfAbsent(s.time(), t -> new double[] {Double.NaN, Double.NaN})[0] = s.value();
        case PeriodCompiler.LONGITUDE -> positions.computeIfAbsent(s.time(), t -> new double[] {Double.NaN, Double.NaN})[1] = s.value();
        default -> {
        }
      }
    }
    List<PeriodCompiler.Fix> fixes = new ArrayList<>();
    positions.forEach((t, p) -> {
      if (!Double.isNaN(p[0]) && !Double.isNaN(p[1])) {
        fixes.add(new PeriodCompiler.Fix(t, p[0], p[1]));
      }
    });
    return new PeriodCompiler.Inputs(start, end, cadence, registers, active, reactive, fixes, resets, clock);
  }

  private static boolean hasSampleWithin(PeriodCompiler.Inputs in) {
    java.util.function.Predicate<PeriodCompiler.Point> within = p -> !p.time().isBefore(in.start()) && p.time().isBefore(in.end());
    return in.activePower().stream().anyMatch(within) || in.reactivePower().stream().anyMatch(within)
        || in.registers().values().stream().anyMatch(series -> series.stream().anyMatch(within));
  }

  /** The meter's sampling cadence from its metadata ({@code sampling_cadence_ms}), else the protocol's default. */
  static Duration cadence(JsonObject metadata) {
    Object cadence = metadata.getValue("sampling_cadence_ms");
    long millis = cadence instanceof Number n && n.longValue() > 0 ? n.longValue() : DeviceDefaults.SAMPLING_CADENCE_MS;
    return Duration.ofMillis(millis);
  }

  // ---------------------------------------------------------------- completeness, for the alert

  /**
   * Refreshes the completeness gauges from yesterday's report (UTC; docs/energy.md): the least
   * complete meter's ratio, which the alert rule compares with its threshold, and how many meters
   * miss a period. The report names them (GET /api/energy/completeness).
   */
  private Future<Void> refreshCompleteness() {
    LocalDate yesterday = LocalDate.now(ZoneOffset.UTC).minusDays(1);
    return Completeness.of(pool, yesterday, settings, Instant.now()).map(report -> {
      minCompleteness.set(Math.round(1e6 * report.meters().stream().mapToDouble(Completeness.Meter::ratio).min().orElse(1.0)));
      incompleteMeters.set(report.meters().stream().filter(m -> m.missing() > 0).count());
      return null;
    });
  }
}
