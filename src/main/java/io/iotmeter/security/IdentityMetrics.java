package io.iotmeter.security;

import io.iotmeter.ops.PlatformMetrics;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.json.JsonObject;

import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * What the identity verticle refused and why, as {@code iot_identity_refused_total{reason}}, and
 * its slow checks in flight ({@code iot_identity_slow_checks}): a flood of bad secrets shows up
 * here, split into those refused by their shape alone and those shed by the hashing gate.
 */
final class IdentityMetrics {

  /** Not the shape of a secret the platform issues (nor the configured admin key): no lookup, no hash. */
  static final String MALFORMED = "malformed";
  /** Well-formed, but no such key or device, or the wrong secret. */
  static final String UNKNOWN = "unknown";
  /** A slow (bcrypt) check shed by the gate (too many in flight, or from one address), or a device lookup beyond those waiting. */
  static final String SHED = "shed";
  static final List<String> REASONS = List.of(MALFORMED, UNKNOWN, SHED);

  private final Map<String, Counter> refused;

  private IdentityMetrics(MeterRegistry registry, HashingGate gate) {
    refused = REASONS.stream().collect(Collectors.toMap(Function.identity(), reason -> Counter.builder("iot_identity_refused")
        .description("Secrets the identity verticle refused (API keys, device passwords), by reason")
        .tag("reason", reason).register(registry)));
    Gauge.builder("iot_identity_slow_checks", gate, HashingGate::inFlight)
        .description("bcrypt checks running or waiting on this node (bounded; beyond it they are shed)")
        .register(registry);
  }

  static IdentityMetrics of(JsonObject config, HashingGate gate) {
    return new IdentityMetrics(PlatformMetrics.registry(config), gate);
  }

  void refused(String reason) {
    refused.get(reason).increment();
  }
}
