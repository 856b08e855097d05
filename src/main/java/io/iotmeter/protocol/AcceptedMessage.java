package io.iotmeter.protocol;

import io.vertx.core.json.JsonObject;

import java.time.Instant;

/**
 * A message the intake committed to its journal, on its way to the sinks
 * ({@code iot.accepted.<category>}, as this object through {@link io.iotmeter.bus.LocalCodec}).
 * {@code payload} is the text exactly as received, so the archive stores the device's bytes,
 * not a re-encoding.
 *
 * @param epoch  the device's boot epoch as the intake counts them (null for v1 payloads)
 * @param seq    the device's counter (null for status and v1 payloads)
 * @param parsed the message as the intake parsed and validated it, shared by every sink so that
 *               none parses it again (read only: its JSON tree is shared too); null for a message
 *               read back from the journal, which {@link #parse} then parses once more. Telemetry
 *               comes without its JSON tree (its measurements hold all of it)
 */
public record AcceptedMessage(long journalId, String deviceId, Category category, Integer epoch, Long seq,
                              Instant deviceTs, Instant receivedAt, String topic, String source, String payload,
                              DeviceMessage parsed) implements io.iotmeter.bus.LocalBody {

  /** A message read back from the journal (recovery, replays): its payload is parsed when a sink needs it. */
  public AcceptedMessage(long journalId, String deviceId, Category category, Integer epoch, Long seq,
                         Instant deviceTs, Instant receivedAt, String topic, String source, String payload) {
    this(journalId, deviceId, category, epoch, seq, deviceTs, receivedAt, topic, source, payload, null);
  }

  /** The body of an {@code iot.accepted.*} message: this object, or its JSON shape from another sender. */
  public static AcceptedMessage of(Object body) {
    return body instanceof AcceptedMessage message ? message : fromJson((JsonObject) body);
  }

  @Override
  public JsonObject toJson() {
    return new JsonObject()
        .put("journal_id", journalId)
        .put("device_id", deviceId)
        .put("category", category.categoryName())
        .put("epoch", epoch)
        .put("seq", seq)
        .put("device_ts", deviceTs == null ? null : deviceTs.toString())
        .put("received_at", receivedAt.toEpochMilli())
        .put("topic", topic)
        .put("source", source)
        .put("payload", payload);
  }

  public static AcceptedMessage fromJson(JsonObject json) {
    String deviceTs = json.getString("device_ts");
    return new AcceptedMessage(json.getLong("journal_id"), json.getString("device_id"),
        Category.fromName(json.getString("category")).orElseThrow(),
        json.getInteger("epoch"), json.getLong("seq"),
        deviceTs == null ? null : Instant.parse(deviceTs),
        Instant.ofEpochMilli(json.getLong("received_at")),
        json.getString("topic"), json.getString("source"), json.getString("payload"));
  }

  /**
   * Heap this message holds while it waits in a sink's buffer, about: its payload text and its
   * parsed measurements (telemetry has no JSON tree, see {@link DeviceMessage#payload}).
   * The sinks bound their buffers by this, not by the payload alone, which undercounted tenfold.
   */
  public long footprint() {
    int measurements = parsed == null ? 0 : parsed.measurements().size();
    return payload.length() + (long) measurements * DeviceMessage.MEASUREMENT_BYTES;
  }

  /** This message without its parsed form: what a sink that reads only the payload holds. */
  public AcceptedMessage withoutParsed() {
    return parsed == null ? this : new AcceptedMessage(journalId, deviceId, category, epoch, seq, deviceTs, receivedAt, topic,
        source, payload);
  }

  /** The parsed message: the intake's, or the payload parsed again when it came from the journal. */
  public DeviceMessage parse() {
    return parsed != null ? parsed : DeviceMessage.parse(topic, payload.getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }
}
