package io.iotmeter.api;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.Map;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The registry gauges of the reference ({@code device_manager_devices_total{status}},
 * {@code device_manager_alerts_unacknowledged}), refreshed whenever {@code /api/stats} is read and every {@code http.stats_refresh_ms} (30 s).
 * One holder per meter registry: a gauge is bound to one value object, and every API verticle
 * instance on the node must update that same object.
 *
 * <p>{@code device_manager_devices_total} is a gauge whose name ends in {@code _total}, which
 * the Prometheus Java client reserves for counters (it would publish it as
 * {@code device_manager_devices}). Dashboards of the reference query the exact name, so this
 * one gauge is rendered here, in the text format, and appended to the scrape.
 */
final class RegistryGauges {

  private static final Map<MeterRegistry, RegistryGauges> BY_REGISTRY = new WeakHashMap<>();

  private final MeterRegistry registry;
  private final Map<String, AtomicLong> devicesByStatus = new ConcurrentHashMap<>();
  private final AtomicLong unacknowledgedAlerts = new AtomicLong();
  private final Map<String, AtomicLong> devicesByConnection = new ConcurrentHashMap<>();

  private RegistryGauges(MeterRegistry registry) {
    this.registry = registry;
    // The statuses a device can have, at 0 until the first refresh: the series exist from the first scrape.
    for (io.iotmeter.registry.DeviceStatus status : io.iotmeter.registry.DeviceStatus.values()) {
      devicesByStatus.put(status.name().toLowerCase(java.util.Locale.ROOT), new AtomicLong());
    }
    for (io.iotmeter.protocol.ConnectionStatus status : io.iotmeter.protocol.ConnectionStatus.values()) {
      String name = status.name().toLowerCase(java.util.Locale.ROOT);
      AtomicLong value = new AtomicLong();
      devicesByConnection.put(name, value);
      Gauge.builder("device_manager.devices.connection", value, AtomicLong::get)
          .description("Registered devices by connection status").tag("connection_status", name).register(registry);
    }
    Gauge.builder("device_manager.alerts.unacknowledged", unacknowledgedAlerts, AtomicLong::get)
        .description("Unacknowledged alerts (refreshed on /api/stats)").register(registry);
  }

  static synchronized RegistryGauges of(MeterRegistry registry) {
    return BY_REGISTRY.computeIfAbsent(registry, RegistryGauges::new);
  }

  /** Takes the numbers of a {@code /api/stats} answer. */
  void update(JsonObject stats) {
    devicesByStatus.values().forEach(v -> v.set(0));
    JsonArray byStatus = stats.getJsonArray("device_by_status");
    byStatus.forEach(o -> {
      JsonObject entry = (JsonObject) o;
      devicesByStatus.computeIfAbsent(entry.getString("status"), status -> new AtomicLong()).set(entry.getLong("count"));
    });
    unacknowledgedAlerts.set(stats.getLong("unacknowledged_alerts"));
  }

  /** Takes the devices per connection status. */
  void updateConnections(Map<String, Long> counts) {
    devicesByConnection.forEach((status, value) -> value.set(counts.getOrDefault(status, 0L)));
  }

  /** The gauges Micrometer cannot name, in Prometheus text format. */
  String renderPrometheus() {
    if (devicesByStatus.isEmpty()) {
      return "";
    }
    StringBuilder text = new StringBuilder()
        .append("# HELP device_manager_devices_total Registered devices by status (refreshed on /api/stats)\n")
        .append("# TYPE device_manager_devices_total gauge\n");
    new java.util.TreeMap<>(devicesByStatus).forEach((status, value) -> text
        .append("device_manager_devices_total{status=\"").append(escapeLabel(status)).append("\"} ")
        .append(value.get()).append('\n'));
    return text.toString();
  }

  private static String escapeLabel(String value) {
    return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
  }
}
