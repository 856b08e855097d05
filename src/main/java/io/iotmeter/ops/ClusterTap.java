package io.iotmeter.ops;

import io.iotmeter.bus.BusAddress;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.Message;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * The bus tap across the cluster: this node's {@link BusTap} serves the streams other nodes open
 * ({@code iot.debug.tap.open}, {@code iot.debug.tap.close}), sending what it sees of its own bus
 * to the requesting node ({@code iot.debug.tap.stream.<stream_id>}) under the same patterns,
 * rate limit and sampling; and {@link #request} opens such a stream from here. A stream lives on
 * a lease the requester renews every {@link #RENEW_MS} ms: one it stops renewing (its node died)
 * closes after {@link #LEASE_MS} ms. Runs beside the tap wherever {@code debug.bus_tap} is on —
 * the api (with {@code /debug/bus}) and ops verticles. Event-loop confined.
 */
public final class ClusterTap implements AutoCloseable {

  private static final Logger LOG = LoggerFactory.getLogger(ClusterTap.class);
  public static final long RENEW_MS = 5_000;
  static final long LEASE_MS = 15_000;
  private static final long TICK_MS = 1_000;

  private final Vertx vertx;
  private final BusTap tap;
  private final int maxStreams;
  private final String node;
  private final Map<String, Served> served = new HashMap<>();
  private final List<MessageConsumer<JsonObject>> consumers;
  private final long timer;

  private static final class Served {
    final TapStream stream;
    final String replyTo;
    long renewedAt;

    Served(TapStream stream, String replyTo, long renewedAt) {
      this.stream = stream;
      this.replyTo = replyTo;
      this.renewedAt = renewedAt;
    }
  }

  public ClusterTap(Vertx vertx, BusTap tap, int maxStreams) {
    this.vertx = vertx;
    this.tap = tap;
    this.maxStreams = maxStreams;
    this.node = NodeName.of(vertx);
    this.consumers = List.of(
        vertx.eventBus().consumer(BusAddress.DEBUG_TAP_OPEN.address(), this::onOpen),
        vertx.eventBus().consumer(BusAddress.DEBUG_TAP_CLOSE.address(), this::onClose));
    this.timer = vertx.setPeriodic(TICK_MS, id -> tick());
  }

  public String node() {
    return node;
  }

  /** A stream this node opens on every other node; renew it with {@link Requested#renew}, end it with close. */
  public Requested request(TapRequest request, List<String> patterns) {
    String id = UUID.randomUUID().toString();
    JsonObject open = new JsonObject().put("stream_id", id).put("node", node).put("address", new JsonArray(patterns))
        .put("rate", request.ratePerSecond()).put("sample", request.sampleEvery())
        .put("reply_to", BusAddress.DEBUG_TAP_STREAM.address(id));
    return new Requested(id, open);
  }

  /** The requesting side of one stream. */
  public final class Requested {
    private final String id;
    private final JsonObject open;

    private Requested(String id, JsonObject open) {
      this.id = id;
      this.open = open;
    }

    /** Where the other nodes send this stream's events. */
    public String address() {
      return open.getString("reply_to");
    }

    public void renew() {
      vertx.eventBus().publish(BusAddress.DEBUG_TAP_OPEN.address(), open);
    }

    public void close() {
      vertx.eventBus().publish(BusAddress.DEBUG_TAP_CLOSE.address(), new JsonObject().put("stream_id", id));
    }
  }

  private void onOpen(Message<JsonObject> message) {
    JsonObject open = message.body();
    String id = open.getValue("stream_id") instanceof String s && s.length() <= 64 ? s : null;
    if (id == null || node.equals(open.getValue("node"))) {
      return; // its own stream: the requester's node taps itself directly
    }
    Served existing = served.get(id);
    if (existing != null) {
      existing.renewedAt = System.nanoTime();
      return;
    }
    // Events go only to the stream's own address, never to one the message names otherwise.
    String replyTo = BusAddress.DEBUG_TAP_STREAM.address(id);
    Optional<TapRequest> request = parse(open);
    if (request.isEmpty()) {
      LOG.debug("Bus tap: unreadable stream request ignored: {}", open.encode());
      return;
    }
    Optional<TapStream> stream = tap.subscribe(request.get(), maxStreams, vertx.getOrCreateContext(),
        event -> vertx.eventBus().send(replyTo, new JsonObject().put("node", node).put("event", new JsonObject(event.toJson()))));
    if (stream.isEmpty()) {
      vertx.eventBus().send(replyTo, new JsonObject().put("node", node)
          .put("refused", "debug.max_streams (" + maxStreams + ") streams are open on this node"));
      return;
    }
    served.put(id, new Served(stream.get(), replyTo, System.nanoTime()));
  }

  private static Optional<TapRequest> parse(JsonObject open) {
    try {
      List<String> patterns = open.getJsonArray("address").stream().map(String.class::cast).toList();
      return Optional.of(new TapRequest(AddressPattern.parse(patterns), open.getInteger("rate"), open.getInteger("sample")));
    } catch (RuntimeException e) {
      return Optional.empty();
    }
  }

  private void onClose(Message<JsonObject> message) {
    Served stream = served.remove(String.valueOf(message.body().getValue("stream_id")));
    if (stream != null) {
      stream.stream.close();
    }
  }

  private void tick() {
    long now = System.nanoTime();
    served.values().removeIf(s -> {
      if (now - s.renewedAt > LEASE_MS * 1_000_000) {
        s.stream.close();
        return true;
      }
      long skipped = s.stream.takeSkipped();
      if (skipped > 0) {
        vertx.eventBus().send(s.replyTo, new JsonObject().put("node", node).put("skipped", skipped));
      }
      return false;
    });
  }

  @Override
  public void close() {
    vertx.cancelTimer(timer);
    consumers.forEach(MessageConsumer::unregister);
    served.values().forEach(s -> s.stream.close());
    served.clear();
  }
}
