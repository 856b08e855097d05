package io.iotmeter.sim;

import io.iotmeter.ops.Backoff;
import io.iotmeter.protocol.Category;
import io.iotmeter.protocol.CommandName;
import io.iotmeter.protocol.CommandParams;
import io.iotmeter.protocol.DeviceMessage;
import io.iotmeter.protocol.InvalidCommandException;
import io.iotmeter.protocol.WireEnum;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import java.util.stream.Collectors;

/**
 * One simulated power meter speaking protocol v2 exactly (README, MQTT):
 * connected to every configured broker at once (see {@link BrokerConnection}), it samples every
 * {@code sampling_cadence_ms}, publishes a telemetry datagram of the buffered samples every
 * {@code send_interval_s}, a hello every {@code hello_interval_s} unless datagrams are the
 * heartbeat, and carries out the five commands for real.
 *
 * <p>{@code seq} is 0 at power-on and grows by one for every published message but status; a
 * message goes to all brokers with one seq. Every boot (power-on, reboot, firmware update) sends
 * a hello once it has tried its brokers — whatever the suppression rule says — with
 * {@code uptime_s} 0 and the running firmware, so the platform learns of the restart and the
 * firmware at once.
 *
 * <p>Firmware updates download nothing: the image of version {@code V} is the UTF-8 bytes of
 * {@code "iot-meter-firmware-" + V} ({@link FirmwareImage}), so an update to 2.1.0 succeeds with
 * {@code fw_sha256} = {@code printf 'iot-meter-firmware-2.1.0' | sha256sum}; any other hash
 * fails verification and the meter stays on its firmware.
 *
 * <p>Everything runs on the Vert.x context the meter was created on; the public methods may be
 * called from anywhere.
 */
public final class SimulatedMeter {

  private static final Logger LOG = LoggerFactory.getLogger(SimulatedMeter.class);

  private static final int[] DOWNLOAD_PROGRESS = {0, 25, 50, 75, 100};
  /** Commands remembered by id: the same command arrives once through every broker. */
  private static final int RECENT_COMMANDS = 256;
  /** How long leaving a broker may wait for the outbox to empty. */
  private static final Duration FLUSH_TIMEOUT = Duration.ofSeconds(5);

  private enum Power { OFF, ON, REBOOTING }

  private final Vertx vertx;
  private final Context context;
  private final MeterSpec spec;
  private final MeterSettings settings;
  private final double phase;
  private final List<RandomWalk> signals;
  private final RandomWalk temperature;
  /** A traction meter's train and registers (kept across reboots, as a meter's registers are); null for others. */
  private final TrainDrive drive;
  private final Map<BrokerAddress, BrokerConnection> links = new LinkedHashMap<>();
  /** The credentials the platform issued this meter (security on); read at each connect. */
  private volatile MeterCredentials credentials;
  private final LinkedHashSet<String> recentCommands = new LinkedHashSet<>();
  private List<JsonObject> samples = new ArrayList<>();

  private volatile Power power = Power.OFF;
  private volatile MeterConfig config;
  private volatile String fwVersion;
  private long seq;
  private long bootedAtNanos;
  private long boots;
  private long sampleTimer = -1;
  private long sendTimer = -1;
  private long helloTimer = -1;
  private long otaTimer = -1;
  private long rebootTimer = -1;
  private String otaTarget;
  private Future<Void> poweredOff = Future.succeededFuture();

  /**
   * @param phase where in each interval this meter sends, from 0 (inclusive) to 1: meters of one
   *              simulator get different phases so that their datagrams do not all go at once
   */
  public SimulatedMeter(Vertx vertx, MeterSpec spec, MeterSettings settings, double phase) {
    this.vertx = vertx;
    this.context = vertx.getOrCreateContext();
    this.spec = spec;
    this.settings = settings;
    this.phase = phase;
    this.config = settings.provisioned();
    this.fwVersion = settings.fwVersion();
    SplittableRandom random = new SplittableRandom(spec.deviceId().hashCode());
    this.signals = spec.type().quantities().stream().map(q -> new RandomWalk(q, random.split())).toList();
    this.temperature = new RandomWalk(new Quantity("temp_internal", "Cel", 35, 45, 0.1), random.split());
    this.drive = spec.train() == null ? null : new TrainDrive(spec.train().trainId(), spec.train().car(), spec.train().meters());
  }

  /** The meter's place on its train (traction meters), else null. */
  public MeterSpec.Train train() {
    return spec.train();
  }

  public String deviceId() {
    return spec.deviceId();
  }

  public MeterType type() {
    return spec.type();
  }

  /** The configuration in force (changed by {@code update_config} and {@code factory_reset}). */
  public MeterConfig config() {
    return config;
  }

  public String fwVersion() {
    return fwVersion;
  }

  /** How many of its brokers the meter is connected to right now (as its hello reports). */
  public Future<Integer> connectedBrokers() {
    return onContext(() -> Future.succeededFuture((int) links.values().stream().filter(BrokerConnection::connected).count()));
  }

  /** From now on the meter connects with these (a rotation takes effect at its next connect). */
  void useCredentials(MeterCredentials credentials) {
    this.credentials = credentials;
  }

  /** Powers on: completes once the first connection attempt to every broker is done, whatever its outcome. */
  public Future<Void> start() {
    return onContext(() -> power == Power.OFF ? powerOn() : Future.succeededFuture());
  }

  /** Powers off gracefully: what is queued is sent, then {@code status: offline}, then DISCONNECT (no will). */
  public Future<Void> stop() {
    return onContext(() -> {
      Power was = power;
      power = Power.OFF;
      cancel(rebootTimer);
      rebootTimer = -1;
      // A rebooting meter is already leaving its brokers (or has left them).
      return was == Power.ON ? powerOff() : poweredOff;
    });
  }

  private Future<Void> powerOn() {
    power = Power.ON;
    seq = 0;
    bootedAtNanos = System.nanoTime();
    long boot = ++boots;
    List<Future<Void>> attempts = new ArrayList<>();
    for (BrokerAddress broker : config.brokers()) {
      BrokerConnection link = links.computeIfAbsent(broker, this::newLink);
      attempts.add(link.open());
    }
    startTimers();
    LOG.debug("Meter {} ({}) powered on with firmware {}, brokers {}", spec.deviceId(), spec.type(), fwVersion, config.brokers());
    // The boot hello waits for the connection attempts, so that broker_connections tells the truth.
    return Future.join(attempts).<Void>mapEmpty().andThen(done -> {
      if (power == Power.ON && boots == boot) {
        publishHello();
      }
    });
  }

  private Future<Void> powerOff() {
    cancelTimers();
    cancel(otaTimer);
    otaTimer = -1;
    otaTarget = null;
    if (!samples.isEmpty()) {
      sendDatagrams(); // a graceful power-off keeps what it measured
    }
    poweredOff = Future.join(links.values().stream().map(link -> link.close(FLUSH_TIMEOUT)).toList()).mapEmpty();
    return poweredOff;
  }

  private void reboot() {
    power = Power.REBOOTING;
    LOG.info("Meter {} rebooting (back in {} ms)", spec.deviceId(), settings.rebootDelay().toMillis());
    powerOff().onComplete(done -> rebootTimer = vertx.setTimer(Math.max(1, settings.rebootDelay().toMillis()), id -> {
      rebootTimer = -1;
      if (power == Power.REBOOTING) {
        powerOn();
      }
    }));
  }

  private BrokerConnection newLink(BrokerAddress broker) {
    return new BrokerConnection(vertx, broker, spec.deviceId(), settings.outboxCapacity(),
        new Backoff(settings.minBackoff(), settings.maxBackoff()), this::onCommand, () -> credentials, settings.mqttVersion());
  }

  // --- measuring and publishing ---

  private void startTimers() {
    cancelTimers();
    MeterConfig current = config;
    sampleTimer = vertx.setPeriodic(current.samplingCadenceMs(), id -> sample());
    long send = current.sendIntervalS() * 1000L;
    sendTimer = vertx.setPeriodic(send + Math.round(phase * send), send, id -> sendDatagrams());
    if (!current.helloSuppressed()) {
      long hello = current.helloIntervalS() * 1000L;
      helloTimer = vertx.setPeriodic(hello + Math.round(phase * hello), hello, id -> publishHello());
    }
  }

  private void cancelTimers() {
    cancel(sampleTimer);
    cancel(sendTimer);
    cancel(helloTimer);
    sampleTimer = sendTimer = helloTimer = -1;
  }

  private void cancel(long timer) {
    if (timer != -1) {
      vertx.cancelTimer(timer);
    }
  }

  private void sample() {
    Instant now = Instant.now();
    String ts = MeterMessages.timestamp(now);
    if (drive != null) {
      samples.addAll(drive.sample(now, ts));
    }
    for (RandomWalk signal : signals) {
      Quantity quantity = signal.quantity();
      JsonObject entry = new JsonObject().put("ts", ts).put("type", quantity.type()).put("val", signal.next());
      if (quantity.unit() != null) {
        entry.put("unit", quantity.unit());
      }
      samples.add(entry);
    }
  }

  /**
   * Publishes the buffered samples: one datagram, or several when they exceed the protocol's 200
   * entries (whole sampling ticks stay together). With no sample, an empty datagram still goes,
   * since datagrams may be the heartbeat.
   */
  private void sendDatagrams() {
    List<JsonObject> taken = samples;
    samples = new ArrayList<>();
    int perTick = Math.max(1, spec.type().entriesPerTick());
    int chunk = DeviceMessage.MAX_MEASUREMENTS - DeviceMessage.MAX_MEASUREMENTS % perTick;
    int from = 0;
    do {
      int to = Math.min(taken.size(), from + chunk);
      publish(Category.TELEMETRY, new JsonObject().put("measurements", new JsonArray(new ArrayList<>(taken.subList(from, to)))), 2);
      from = to;
    } while (from < taken.size());
  }

  private void publishHello() {
    double bufferUse = links.values().stream().mapToDouble(l -> l.backlog() * 100.0 / l.capacity()).max().orElse(0);
    publish(Category.HELLO, new JsonObject()
        .put("fw_version", fwVersion)
        .put("uptime_s", (System.nanoTime() - bootedAtNanos) / 1_000_000_000L)
        .put("broker_connections", links.values().stream().filter(BrokerConnection::connected).count())
        .put("buf_usage_pct", Math.min(100, Math.round(bufferUse * 10) / 10.0))
        .put("temp_internal", temperature.next()), 2);
  }

  /** Stamps the envelope with the next seq and queues the message for every broker. */
  private void publish(Category category, JsonObject body, int qos) {
    long current = seq;
    seq = current == DeviceMessage.MAX_SEQ ? 0 : current + 1;
    JsonObject message = MeterMessages.envelope(spec.deviceId(), current, category, Instant.now());
    body.forEach(field -> message.put(field.getKey(), field.getValue()));
    Outgoing outgoing = new Outgoing(MeterMessages.topic(spec.deviceId(), category), message.toBuffer(), qos, false, false);
    links.values().forEach(link -> link.send(outgoing));
  }

  // --- commands ---

  private void onCommand(Buffer payload) {
    if (power != Power.ON) {
      LOG.info("Meter {} ignores a command while {}", spec.deviceId(), power);
      return;
    }
    JsonObject command;
    try {
      command = payload.toJsonObject();
    } catch (DecodeException | ClassCastException e) {
      LOG.debug("Meter {} ignores a command that is not a JSON object: {}", spec.deviceId(), e.getMessage());
      return;
    }
    if (!(command.getValue("cmd_id") instanceof String cmdId) || cmdId.isBlank()
        || !(command.getValue("cmd") instanceof String name)) {
      LOG.debug("Meter {} ignores a command without cmd_id or cmd: {}", spec.deviceId(), command.encode());
      return;
    }
    if (!recentCommands.add(cmdId)) {
      return; // the copy that came through another broker
    }
    if (recentCommands.size() > RECENT_COMMANDS) {
      recentCommands.remove(recentCommands.iterator().next());
    }
    Optional<CommandName> known = WireEnum.parse(CommandName.class, name);
    if (known.isEmpty()) {
      acknowledge(cmdId, "unsupported", "Unknown command '" + name + "' (known: "
          + String.join(", ", WireEnum.words(CommandName.class)) + ")");
      return;
    }
    Object rawParams = command.getValue("params");
    if (rawParams != null && !(rawParams instanceof JsonObject)) {
      acknowledge(cmdId, "rejected", "params must be an object");
      return;
    }
    JsonObject params = rawParams == null ? new JsonObject() : (JsonObject) rawParams;
    try {
      CommandParams.validate(known.get(), params);
    } catch (InvalidCommandException e) {
      acknowledge(cmdId, "rejected", e.getMessage());
      return;
    }
    LOG.debug("Meter {} executes {} {}", spec.deviceId(), name, cmdId);
    switch (known.get()) {
      case UPDATE_CONFIG -> applyConfig(cmdId, config.updatedBy(params), "Configuration updated");
      case FACTORY_RESET -> applyConfig(cmdId, MeterConfig.factoryDefaults(settings.provisioned().brokers()),
          "Factory defaults restored");
      case REQUEST_STATUS -> {
        acknowledge(cmdId, "accepted", "Hello follows");
        publishHello();
      }
      case REBOOT -> {
        acknowledge(cmdId, "accepted", "Rebooting; back in " + settings.rebootDelay().toMillis() + " ms");
        reboot();
      }
      case START_OTA -> startOta(cmdId, params);
    }
  }

  private void acknowledge(String cmdId, String result, String detail) {
    publish(Category.COMMAND_ACK, new JsonObject().put("cmd_id", cmdId).put("result", result).put("detail", detail), 2);
  }

  /** Takes effect at once: timers restart with the new cadence and intervals, brokers are switched after the ack left. */
  private void applyConfig(String cmdId, MeterConfig next, String what) {
    MeterConfig previous = config;
    config = next;
    acknowledge(cmdId, "accepted", what + ": " + describe(next));
    if (next.samplingCadenceMs() != previous.samplingCadenceMs() || next.sendIntervalS() != previous.sendIntervalS()
        || next.helloIntervalS() != previous.helloIntervalS()) {
      startTimers();
    }
    if (!next.brokers().equals(previous.brokers())) {
      switchBrokers(next.brokers());
    }
  }

  private static String describe(MeterConfig config) {
    return "sampling_cadence_ms=" + config.samplingCadenceMs() + ", send_interval_s=" + config.sendIntervalS()
        + ", hello_interval_s=" + config.helloIntervalS() + ", brokers="
        + config.brokers().stream().map(BrokerAddress::toString).collect(Collectors.joining(",", "[", "]"));
  }

  /** Leaves the brokers no longer listed (after sending what they still owe, the ack included) and joins the new ones. */
  private void switchBrokers(List<BrokerAddress> wanted) {
    LOG.info("Meter {} switches brokers to {}", spec.deviceId(), wanted);
    List<BrokerAddress> leaving = links.keySet().stream().filter(b -> !wanted.contains(b)).toList();
    for (BrokerAddress broker : leaving) {
      links.remove(broker).close(FLUSH_TIMEOUT);
    }
    for (BrokerAddress broker : wanted) {
      if (!links.containsKey(broker)) {
        BrokerConnection link = newLink(broker);
        links.put(broker, link);
        link.open();
      }
    }
  }

  // --- firmware update ---

  private void startOta(String cmdId, JsonObject params) {
    String target = params.getString("fw_version");
    if (otaTarget != null) {
      acknowledge(cmdId, "rejected", "A firmware update to " + otaTarget + " is already in progress");
      return;
    }
    otaTarget = target;
    acknowledge(cmdId, "accepted", "Downloading firmware " + target + " from " + params.getString("fw_url"));
    String expected = params.getString("fw_sha256");
    List<BooleanSupplier> steps = new ArrayList<>();
    for (int progress : DOWNLOAD_PROGRESS) {
      steps.add(() -> otaStatus(cmdId, "downloading", progress, target, null));
    }
    steps.add(() -> otaStatus(cmdId, "verifying", 100, target, null));
    steps.add(() -> {
      String actual = FirmwareImage.sha256Hex(target);
      if (!actual.equalsIgnoreCase(expected)) {
        otaStatus(cmdId, "failed", 100, target, "SHA-256 mismatch: fw_sha256 is " + expected.toLowerCase()
            + " but the downloaded image of " + target + " has " + actual + "; staying on firmware " + fwVersion);
        otaTarget = null;
        return false;
      }
      return otaStatus(cmdId, "applying", 100, target, null);
    });
    steps.add(() -> {
      otaStatus(cmdId, "success", 100, target, null);
      LOG.info("Meter {} installed firmware {} (was {})", spec.deviceId(), target, fwVersion);
      fwVersion = target;
      otaTarget = null;
      reboot();
      return false;
    });
    runOtaStep(steps, 0);
  }

  /** Runs step {@code index} now and the next one {@code ota_step_ms} later, while steps say to go on. */
  private void runOtaStep(List<BooleanSupplier> steps, int index) {
    otaTimer = -1;
    if (steps.get(index).getAsBoolean() && index + 1 < steps.size()) {
      otaTimer = vertx.setTimer(Math.max(1, settings.otaStep().toMillis()), id -> runOtaStep(steps, index + 1));
    }
  }

  private boolean otaStatus(String cmdId, String state, int progress, String target, String detail) {
    JsonObject body = new JsonObject().put("cmd_id", cmdId).put("ota_state", state).put("progress_pct", progress)
        .put("fw_version_target", target);
    if (detail != null) {
      body.put("detail", detail);
    }
    publish(Category.OTA_STATUS, body, 1);
    return true;
  }

  private <T> Future<T> onContext(Supplier<Future<T>> action) {
    if (Vertx.currentContext() == context) {
      return action.get();
    }
    Promise<T> promise = Promise.promise();
    context.runOnContext(v -> action.get().onComplete(promise));
    return promise.future();
  }
}
