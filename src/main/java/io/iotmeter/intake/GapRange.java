package io.iotmeter.intake;

import io.vertx.core.json.JsonObject;

import java.time.Instant;

/**
 * Sequence numbers {@code from..to} (inclusive) of one boot epoch that have not arrived yet.
 * {@code since} is when the gap was noticed; its alert is raised once the gap has stayed open
 * for the configured delay (copies through other brokers often fill it within milliseconds).
 */
public record GapRange(int epoch, long from, long to, Instant since, boolean alerted) {

  public long size() {
    return to - from + 1;
  }

  public boolean contains(int epoch, long seq) {
    return this.epoch == epoch && seq >= from && seq <= to;
  }

  public GapRange markAlerted() {
    return new GapRange(epoch, from, to, since, true);
  }

  public JsonObject toJson() {
    return new JsonObject().put("epoch", epoch).put("from", from).put("to", to)
        .put("since", since.toString()).put("alerted", alerted);
  }

  public static GapRange fromJson(JsonObject json) {
    return new GapRange(json.getInteger("epoch"), json.getLong("from"), json.getLong("to"),
        Instant.parse(json.getString("since")), json.getBoolean("alerted", false));
  }
}
