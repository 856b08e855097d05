package io.iotmeter.ops;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The ingest side's metrics under the reference's names ({@code mqtt_collector_*}). One
 * holder per meter registry, because gauges are bound to one value object that every
 * verticle instance on the node must share.
 */
public final class IngestMetrics {

  private static final Map<MeterRegistry, IngestMetrics> BY_REGISTRY = new WeakHashMap<>();

  private final MeterRegistry registry;
  private final Set<String> devicesSeen = ConcurrentHashMap.newKeySet();
  private final Map<String, AtomicInteger> connected = new ConcurrentHashMap<>();
  private final AtomicInteger minioReady = new AtomicInteger();
  private final AtomicInteger influxReady = new AtomicInteger();
  private final java.util.concurrent.atomic.AtomicLong quarantineWaiting = new java.util.concurrent.atomic.AtomicLong();
  private final Map<String, java.util.concurrent.atomic.AtomicLong[]> journalBacklog = new ConcurrentHashMap<>();
  private final Timer minioStore;
  private final Timer influxWrite;

  /**
   * Every error type the platform counts. All are registered at 0 on the first scrape, so that
   * {@code rate()} and alert rules see a series from the start instead of an absent one.
   */
  public static final List<String> ERROR_TYPES = List.of(
      // the reference's
      "json_decode", "processing", "minio_store", "influxdb_write",
      // refused at the intake
      "invalid_payload", "invalid_topic", "unknown_device", "device_id_mismatch", "intake_queue_full",
      "intake_queue_expired",
      "unmatched_command_ack", "unmatched_ota_status", "invalid_cmd_id",
      // a sink's store refused a message: it went to the quarantine; a registry write failed
      "quarantined", "registry_write",
      // the MQTT endpoint and the bridge
      "mqtt_protocol", "mqtt_auth_refused", "mqtt_acl_denied", "mqtt_refused_client_id", "mqtt_refused_topic",
      "mqtt_refused_subscription", "mqtt_subscription_refused", "mqtt_backpressure_disconnect", "mqtt_idle_closed",
      "mqtt_qos0_dropped", "mqtt_sessions_full", "mqtt_device_sessions_full", "mqtt_client_id_taken", "mqtt_retained_refused", "mqtt_queue_full",
      "mqtt_queue_overflow", "mqtt_subscription_limit",
      // MQTT 5 (docs/protocol.md)
      "mqtt_expired", "mqtt_too_large_for_client", "mqtt_packet_too_large", "mqtt_receive_maximum_exceeded",
      "mqtt_topic_alias_invalid", "mqtt_payload_format_invalid");

  /** The topic_suffix label values of received / processed messages (a category's name; "other" for the rest). */
  public static final List<String> TOPIC_SUFFIXES = java.util.stream.Stream.concat(
      java.util.Arrays.stream(io.iotmeter.protocol.Category.values()).map(io.iotmeter.protocol.Category::categoryName),
      java.util.stream.Stream.of("other")).toList();

  private IngestMetrics(MeterRegistry registry) {
    this.registry = registry;
    for (String suffix : TOPIC_SUFFIXES) {
      Counter.builder("mqtt_collector.messages.received").description("Messages received by topic suffix")
          .tag("topic_suffix", suffix).register(registry);
      Counter.builder("mqtt_collector.messages.processed").description("Messages accepted into the intake journal")
          .tag("topic_suffix", suffix).register(registry);
    }
    for (String type : ERROR_TYPES) {
      Counter.builder("mqtt_collector.messages.errors").description("Messages refused or failed, by error type")
          .tag("error_type", type).register(registry);
    }
    Counter.builder("mqtt_collector.duplicates.dropped").description("Copies dropped by de-duplication").register(registry);
    for (io.iotmeter.journal.SinkKind sink : io.iotmeter.journal.SinkKind.values()) {
      backlog(sink.configName());
      readBack(sink.configName());
    }
    Counter.builder("mqtt_collector.sequence.gaps").description("Sequence gaps that stayed open (alerted)").register(registry);
    Gauge.builder("mqtt_collector.devices.seen", devicesSeen, Set::size)
        .description("Unique devices seen since startup").register(registry);
    Gauge.builder("mqtt_collector.minio.ready", minioReady, AtomicInteger::get)
        .description("Object store (archive) readiness, 1 = ready").register(registry);
    Gauge.builder("mqtt_collector.influxdb.ready", influxReady, AtomicInteger::get)
        .description("Time-series store readiness, 1 = ready").register(registry);
    Gauge.builder("mqtt_collector.mqtt.connected", connected, c -> c.values().stream().mapToInt(AtomicInteger::get).sum())
        .description("MQTT connections of the ingest side that are up (endpoint listening, bridge connections)")
        .register(registry);
    Gauge.builder("mqtt_collector.info", () -> 1).description("Service version")
        .tag("version", PlatformMetrics.version()).register(registry);
    Gauge.builder("mqtt_collector.quarantine.messages", quarantineWaiting, java.util.concurrent.atomic.AtomicLong::get)
        .description("Quarantined messages not replayed yet (GET /api/quarantine)").register(registry);
    Counter.builder("mqtt_collector.rejected.evidence.dropped")
        .description("Refused messages beyond a sender's evidence budget: counted, not kept").register(registry);
    Counter.builder("mqtt_collector.mqtt.paused").description("Times a device connection's reading was paused (back-pressure)")
        .register(registry);
    for (String reason : new String[] {"first_copy", "counter_reset"}) {
      Counter.builder("mqtt_collector.dedup.overrides")
          .description("Messages the sequence state took for copies that the exact check found new, by reason")
          .tag("reason", reason).register(registry);
    }
    minioStore = PlatformMetrics.latencyTimer("mqtt_collector.minio.store.duration", "Object-store write latency").register(registry);
    influxWrite = PlatformMetrics.latencyTimer("mqtt_collector.influxdb.write.duration", "Time-series write latency").register(registry);
  }

  public static synchronized IngestMetrics of(MeterRegistry registry) {
    return BY_REGISTRY.computeIfAbsent(registry, IngestMetrics::new);
  }

  /** Counted for every message: looked up in a map of ours, not built and registered again each time. */
  private final Map<String, Counter> receivedBySuffix = new ConcurrentHashMap<>();
  private final Map<String, Counter> processedBySuffix = new ConcurrentHashMap<>();
  private final Map<String, Counter> errorsByType = new ConcurrentHashMap<>();

  public void received(String topicSuffix) {
    receivedBySuffix.computeIfAbsent(topicSuffix, suffix -> Counter.builder("mqtt_collector.messages.received")
        .description("Messages received by topic suffix").tag("topic_suffix", suffix).register(registry)).increment();
  }

  public void processed(String topicSuffix) {
    processedBySuffix.computeIfAbsent(topicSuffix, suffix -> Counter.builder("mqtt_collector.messages.processed")
        .description("Messages accepted into the intake journal").tag("topic_suffix", suffix).register(registry)).increment();
  }

  public void error(String errorType) {
    errorsByType.computeIfAbsent(errorType, type -> Counter.builder("mqtt_collector.messages.errors")
        .description("Messages refused or failed, by error type").tag("error_type", type).register(registry)).increment();
  }

  public void duplicateDropped() {
    Counter.builder("mqtt_collector.duplicates.dropped").description("Copies dropped by de-duplication")
        .register(registry).increment();
  }

  public void sequenceGap() {
    Counter.builder("mqtt_collector.sequence.gaps").description("Sequence gaps that stayed open (alerted)")
        .register(registry).increment();
  }

  /** The exact check overruled the sequence state: a message it took for a copy was new. */
  public void dedupOverride(String reason) {
    Counter.builder("mqtt_collector.dedup.overrides")
        .description("Messages the sequence state took for copies that the exact check found new, by reason")
        .tag("reason", reason).register(registry).increment();
  }

  /** A device endpoint connection stopped reading: its messages were not becoming durable fast enough. */
  public void mqttPaused() {
    Counter.builder("mqtt_collector.mqtt.paused").description("Times a device connection's reading was paused (back-pressure)")
        .register(registry).increment();
  }

  /** What one sink has not stored yet: journal rows and the age of the oldest, in seconds. */
  public void journalBacklog(String sink, long pending, long oldestAgeSeconds) {
    backlog(sink)[0].set(pending);
    backlog(sink)[1].set(oldestAgeSeconds);
  }

  /** A sink loaded {@code messages} of its batch from the journal: the fast path had not brought them (a restart, a full buffer, another node). */
  public void journalReadBack(String sink, int messages) {
    readBack(sink).increment(messages);
  }

  private Counter readBack(String sink) {
    return Counter.builder("mqtt_collector.journal.read.back")
        .description("Messages a sink loaded from the journal because the fast path had not brought them").tag("sink", sink)
        .register(registry);
  }

  private java.util.concurrent.atomic.AtomicLong[] backlog(String sink) {
    return journalBacklog.computeIfAbsent(sink, s -> {
      java.util.concurrent.atomic.AtomicLong[] values = {new java.util.concurrent.atomic.AtomicLong(),
          new java.util.concurrent.atomic.AtomicLong()};
      Gauge.builder("mqtt_collector.journal.pending", values[0], java.util.concurrent.atomic.AtomicLong::get)
          .description("Journal messages this sink has not stored yet").tag("sink", s).register(registry);
      Gauge.builder("mqtt_collector.journal.oldest.pending.seconds", values[1], java.util.concurrent.atomic.AtomicLong::get)
          .description("Age of the oldest message this sink has not stored yet (0: none)").tag("sink", s).register(registry);
      return values;
    });
  }

  public void quarantineWaiting(long count) {
    quarantineWaiting.set(count);
  }

  public void rejectedNotKept() {
    Counter.builder("mqtt_collector.rejected.evidence.dropped")
        .description("Refused messages beyond a sender's evidence budget: counted, not kept").register(registry).increment();
  }

  public void deviceSeen(String deviceId) {
    devicesSeen.add(deviceId);
  }

  /** Marks one MQTT connection of the ingest side (by name) as up or down. */
  public void connection(String name, boolean up) {
    connected.computeIfAbsent(name, n -> new AtomicInteger()).set(up ? 1 : 0);
  }

  public void minioReady(boolean ready) {
    minioReady.set(ready ? 1 : 0);
  }

  public void influxReady(boolean ready) {
    influxReady.set(ready ? 1 : 0);
  }

  public Timer minioStoreTimer() {
    return minioStore;
  }

  public Timer influxWriteTimer() {
    return influxWrite;
  }
}
