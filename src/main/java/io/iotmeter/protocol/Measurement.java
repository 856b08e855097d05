package io.iotmeter.protocol;

import java.time.Instant;

/** One sample of a telemetry datagram: {@code {"ts","type","val","unit"}} (unit may be null). */
public record Measurement(Instant ts, String type, double value, String unit) {
}
