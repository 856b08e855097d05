package io.iotmeter.ops;

import io.vertx.core.json.Json;

import java.time.Instant;

/**
 * One message the tap saw. A reply carries the address of the request it answers, since its
 * own address is a one-off reply address that names nothing.
 */
public record TapEvent(Instant time, String address, MessageKind kind, BodyText body) {

  /** {@code {"time","address","kind","body"}}, plus {@code truncated} and {@code body_length} for a cut body. */
  public String toJson() {
    StringBuilder json = new StringBuilder(body.json().length() + 128)
        .append("{\"time\":\"").append(time).append("\",\"address\":").append(Json.encode(address))
        .append(",\"kind\":\"").append(kind.wireName()).append("\",\"body\":").append(body.json());
    if (body.truncated()) {
      json.append(",\"truncated\":true,\"body_length\":").append(body.length());
    }
    return json.append('}').toString();
  }
}
