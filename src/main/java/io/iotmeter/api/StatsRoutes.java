package io.iotmeter.api;

import io.iotmeter.registry.RegistryStats;
import io.vertx.core.Future;
import io.vertx.ext.web.RoutingContext;

/** {@code GET /api/stats}: registry-wide counts, which also refresh the registry gauges. */
public final class StatsRoutes {

  private final RegistryStats stats;
  private final RegistryGauges gauges;

  public StatsRoutes(RegistryStats stats, RegistryGauges gauges) {
    this.stats = stats;
    this.gauges = gauges;
  }

  public void mount(ApiRoutes routes) {
    routes.get("/api/stats", this::read);
  }

  private Future<ApiResponse> read(RoutingContext ctx) {
    return stats.read().map(numbers -> {
      gauges.update(numbers);
      return ApiResponse.ok(numbers);
    });
  }
}
