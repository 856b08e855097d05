package io.iotmeter.boot;

import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * What a cluster node does ({@code --role ingest,api}). A role is a set of verticles; a node
 * deploys those of its roles that its {@code deploy} configuration also asks for.
 */
public enum NodeRole {
  /** MQTT (endpoint or bridge), intake, sinks, lifecycle, energy billing: everything that takes device data in. */
  INGEST(EnumSet.of(VerticleCatalog.ARCHIVE_SINK, VerticleCatalog.TIMESERIES_SINK, VerticleCatalog.REGISTRY_SINK,
      VerticleCatalog.LIFECYCLE, VerticleCatalog.ENERGY, VerticleCatalog.IDENTITY, VerticleCatalog.INTAKE, VerticleCatalog.LIVE_FEED,
      VerticleCatalog.MQTT_SERVER,
      VerticleCatalog.MQTT_BRIDGE, VerticleCatalog.OPS)),
  /** The REST API and the bus bridges (SockJS with the API, TCP), the live events, the identity checks. */
  API(EnumSet.of(VerticleCatalog.IDENTITY, VerticleCatalog.API, VerticleCatalog.TCP_BRIDGE, VerticleCatalog.LIVE_EVENTS)),
  /** Simulated meters. */
  SIM(EnumSet.of(VerticleCatalog.SIMULATOR)),
  /** Everything the configuration deploys (one node, or a node of a small cluster). */
  ALL(EnumSet.allOf(VerticleCatalog.class));

  private final Set<VerticleCatalog> verticles;

  NodeRole(Set<VerticleCatalog> verticles) {
    this.verticles = verticles;
  }

  public static List<String> names() {
    return Arrays.stream(values()).map(r -> r.name().toLowerCase(java.util.Locale.ROOT)).toList();
  }

  public static NodeRole parse(String name) {
    return Arrays.stream(values()).filter(r -> r.name().equalsIgnoreCase(name.trim())).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("Unknown role '" + name + "' (known: " + String.join(", ", names()) + ")"));
  }

  /** Whether a node with these roles deploys {@code verticle}. */
  public static boolean deploys(List<String> roles, VerticleCatalog verticle) {
    return roles.isEmpty() || roles.stream().map(NodeRole::parse).anyMatch(r -> r.verticles.contains(verticle));
  }
}
