package io.iotmeter.boot;

import io.iotmeter.config.Settings;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;

import java.util.List;

/**
 * The heap the configured bounds can take at most, added up: the intake queue, each sink's
 * buffer, the device endpoint's session queues, hand-offs under way and retained messages —
 * each bounded in bytes — plus a fixed allowance for everything else (code, stores' clients,
 * connections). Logged at startup against the JVM's maximum heap, and checked against the
 * container limits of docker/ and k8s/ by the deployment tests, so the numbers cannot drift apart.
 */
public final class MemoryBudget {

  /** Code, caches, connection pools, store clients, per-connection state of a few thousand meters. */
  public static final long BASE_BYTES = 256L << 20;

  private MemoryBudget() {
  }

  /** The bound in bytes for a node that deploys what {@code config} (its {@code deploy} and {@code roles}) deploys. */
  public static long bytes(JsonObject config) {
    List<String> roles = config.getJsonArray("roles", new JsonArray()).stream().map(String::valueOf).toList();
    JsonObject deploy = config.getJsonObject("deploy", new JsonObject());
    java.util.function.ToIntFunction<VerticleCatalog> instances = v ->
        NodeRole.deploys(roles, v) ? deploy.getInteger(v.configName(), 0) : 0;
    long total = BASE_BYTES;
    total += instances.applyAsInt(VerticleCatalog.INTAKE)
        * Settings.of(config, "intake").whole("max_queue_bytes");
    for (VerticleCatalog sink : List.of(VerticleCatalog.ARCHIVE_SINK, VerticleCatalog.TIMESERIES_SINK, VerticleCatalog.REGISTRY_SINK)) {
      String name = sink.configName().replace("_sink", "");
      long buffer = Settings.of(config, "sinks." + name).whole("max_buffer_bytes");
      total += instances.applyAsInt(sink) * buffer;
    }
    if (instances.applyAsInt(VerticleCatalog.MQTT_SERVER) > 0) {
      Settings mqtt = Settings.of(config, "mqtt");
      // One broker state per node, whatever the number of endpoint instances.
      total += mqtt.whole("max_total_queued_bytes") + mqtt.whole("max_total_pending_bytes") + mqtt.whole("max_retained_bytes");
    }
    return total;
  }

  /** A line for the startup log, with a warning when the heap is smaller than the bounds. */
  public static String describe(JsonObject config, long maxHeapBytes) {
    long budget = bytes(config);
    String line = "Memory bounds of this node add up to " + (budget >> 20) + " MiB of heap; the JVM may use " + (maxHeapBytes >> 20)
        + " MiB";
    return budget > maxHeapBytes
        ? line + ". WARNING: give the JVM more heap (-Xmx, or -XX:MaxRAMPercentage with a larger container) or lower the "
            + "*_bytes bounds, or an extreme load may run out of memory instead of being held back"
        : line;
  }
}
