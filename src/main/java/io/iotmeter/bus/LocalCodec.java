package io.iotmeter.bus;

import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.eventbus.MessageCodec;

/**
 * Hands a {@link LocalBody} to the consumers of a node-local address as the same object: no
 * JSON tree is built, encoded or copied per hop and per consumer (the default codec of a
 * {@code JsonObject} copies it for every local consumer). The bodies are immutable records, so
 * sharing them is safe. Such a body can never leave the node: {@link #OPTIONS} marks every send
 * local-only, and encoding for the wire fails loudly rather than sending something half-made.
 */
public final class LocalCodec<T extends LocalBody> implements MessageCodec<T, T> {

  /** Delivery options of every send of a local body: this node only, even in a cluster. */
  public static final DeliveryOptions OPTIONS = new DeliveryOptions().setLocalOnly(true);

  private final Class<T> type;

  LocalCodec(Class<T> type) {
    this.type = type;
  }

  /**
   * Makes {@code type} travel by reference on this Vert.x instance. Every verticle that sends
   * such a body calls this in its start; the first one registers, later calls find it there.
   */
  public static <T extends LocalBody> void register(Vertx vertx, Class<T> type) {
    registerOnce(vertx, type, new LocalCodec<>(type));
  }

  /** Makes {@code codec} the default codec of {@code type} on this Vert.x instance, unless it is already. */
  static synchronized <T> void registerOnce(Vertx vertx, Class<T> type, MessageCodec<T, ?> codec) {
    try {
      vertx.eventBus().registerDefaultCodec(type, codec);
    } catch (IllegalStateException alreadyRegistered) {
      // another verticle instance of this node registered it: one codec per class and node
    }
  }

  @Override
  public void encodeToWire(Buffer buffer, T body) {
    throw new IllegalStateException(type.getSimpleName() + " is a node-local message body; it cannot cross the cluster");
  }

  @Override
  public T decodeFromWire(int pos, Buffer buffer) {
    throw new IllegalStateException(type.getSimpleName() + " is a node-local message body; it cannot cross the cluster");
  }

  @Override
  public T transform(T body) {
    return body;
  }

  @Override
  public String name() {
    return "local-" + type.getName();
  }

  @Override
  public byte systemCodecID() {
    return -1;
  }
}
