package io.iotmeter.bus;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.MessageCodec;
import io.vertx.core.json.JsonObject;

/**
 * Sends a {@link LocalBody} whose consumers receive its JSON shape ({@link LocalBody#toJson}),
 * built only when someone receives it: for each local consumer, and once per remote node. A
 * publication nobody listens to costs no JSON at all — the live feed publishes every telemetry
 * message to an address per device, and most devices have no dashboard open. On the wire it is
 * the JSON object's own encoding, so every node decodes it to a {@code JsonObject}; each node
 * registers the codec's name ({@link #register}, at the platform's start), as Vert.x requires of
 * every codec that crosses the cluster.
 */
public final class JsonViewCodec<T extends LocalBody> implements MessageCodec<T, JsonObject> {

  private final Class<T> type;

  JsonViewCodec(Class<T> type) {
    this.type = type;
  }

  /** Makes {@code type} travel as its JSON shape, built late. Idempotent per Vert.x instance. */
  public static <T extends LocalBody> void register(Vertx vertx, Class<T> type) {
    LocalCodec.registerOnce(vertx, type, new JsonViewCodec<>(type));
  }

  @Override
  public void encodeToWire(Buffer buffer, T body) {
    Buffer encoded = body.toJson().toBuffer();
    buffer.appendInt(encoded.length());
    buffer.appendBuffer(encoded);
  }

  @Override
  public JsonObject decodeFromWire(int pos, Buffer buffer) {
    int length = buffer.getInt(pos);
    return new JsonObject(buffer.slice(pos + 4, pos + 4 + length));
  }

  @Override
  public JsonObject transform(T body) {
    return body.toJson();
  }

  @Override
  public String name() {
    return "json-view-" + type.getName();
  }

  @Override
  public byte systemCodecID() {
    return -1;
  }
}
