package io.iotmeter.api;

import io.iotmeter.ops.BusTap;
import io.iotmeter.ops.ClusterTap;
import io.iotmeter.ops.TapRequest;
import io.iotmeter.ops.TapStream;
import io.vertx.core.eventbus.MessageConsumer;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.RoutingContext;

import java.util.List;
import java.util.Optional;

/**
 * One {@code GET /debug/bus} response: a server-sent-events stream of the tap's messages.
 * {@code event: message} carries {@code {"time","address","kind","body"}}; {@code event: skipped}
 * carries {@code {"skipped": n}}, the messages dropped since the last report — by the rate limit,
 * or because the client reads more slowly than they come — sent before the next message or
 * within a second; a {@code : keep-alive} comment every 15 s keeps proxies from closing an idle
 * stream. The subscription ends when the client goes away.
 *
 * <p>Across the cluster: the other nodes with the tap on stream their own buses to this one
 * ({@link ClusterTap}); their events carry {@code node}, and a node at its stream limit says so
 * with {@code event: refused} ({@code {"node","refused"}}). Their skipped messages count in
 * {@code skipped}.
 */
final class TapEventStream {

  private static final long TICK_MS = 1_000;
  private static final int KEEP_ALIVE_TICKS = 15;
  private static final int RENEW_TICKS = (int) (ClusterTap.RENEW_MS / TICK_MS);

  private final RoutingContext ctx;
  private final HttpServerResponse response;
  private TapStream subscription;
  /** The same stream on the other nodes of the cluster (null without a cluster tap). */
  private ClusterTap.Requested remote;
  private MessageConsumer<JsonObject> remoteEvents;
  /** Ends the stream when the API key that opened it is deleted (null with security off). */
  private MessageConsumer<JsonObject> revocations;
  private long timer;
  private int ticks;
  /** Dropped here because the client's write queue was full (the tap counts its own drops). */
  private long unwritten;
  private boolean closed;

  private TapEventStream(RoutingContext ctx) {
    this.ctx = ctx;
    this.response = ctx.response();
  }

  /** Subscribes and starts the response; empty when the node has {@code maxStreams} open already. */
  static Optional<TapEventStream> open(RoutingContext ctx, BusTap tap, ClusterTap cluster, TapRequest request,
                                       List<String> patterns, int maxStreams, String keyId) {
    TapEventStream stream = new TapEventStream(ctx);
    Optional<TapStream> subscription = tap.subscribe(request, maxStreams, ctx.vertx().getOrCreateContext(),
        event -> stream.write(event.toJson()));
    if (subscription.isEmpty()) {
      return Optional.empty();
    }
    stream.start(subscription.get());
    if (!stream.closed) {
      stream.openRemote(cluster.request(request, patterns));
      if (keyId != null) {
        stream.endWhenRevoked(keyId);
      }
    }
    return Optional.of(stream);
  }

  /** Asks every other node for the same stream; their events come with their node's name. */
  private void openRemote(ClusterTap.Requested requested) {
    remote = requested;
    remoteEvents = ctx.vertx().eventBus().<JsonObject>consumer(requested.address(), m -> onRemote(m.body()));
    remoteEvents.completion().onSuccess(v -> requested.renew());
  }

  private void endWhenRevoked(String keyId) {
    revocations = ctx.vertx().eventBus().<JsonObject>consumer(io.iotmeter.bus.BusAddress.IDENTITY_REVOKED.address(), m -> {
      if (keyId.equals(m.body().getString("key_id")) && !closed) {
        response.write("event: closed\ndata: {\"reason\":\"the API key of this stream was deleted\"}\n\n");
        close();
        response.end();
      }
    });
  }

  private void onRemote(JsonObject message) {
    if (closed) {
      return;
    }
    String node = String.valueOf(message.getValue("node"));
    if (message.getValue("event") instanceof JsonObject event) {
      write(event.put("node", node).encode());
    } else if (message.getValue("skipped") instanceof Number n) {
      unwritten += n.longValue();
    } else if (message.getValue("refused") != null && !response.writeQueueFull()) {
      response.write("event: refused\ndata: " + new JsonObject().put("node", node).put("refused", message.getValue("refused"))
          .encode() + "\n\n");
    }
  }

  private void start(TapStream subscription) {
    this.subscription = subscription;
    response.closeHandler(v -> close());
    response.exceptionHandler(e -> close());
    response.setChunked(true)
        .putHeader("content-type", "text/event-stream; charset=utf-8")
        .putHeader("cache-control", "no-cache")
        .putHeader("x-accel-buffering", "no");
    TapRequest request = subscription.request();
    // The first bytes send the headers: the client knows the subscription is in place.
    response.write(": bus tap on " + request.pattern() + ", at most " + request.ratePerSecond() + " per second"
        + (request.sampleEvery() > 1 ? ", 1 in " + request.sampleEvery() : "") + "\n\n");
    timer = ctx.vertx().setPeriodic(TICK_MS, id -> tick());
    if (response.closed()) {
      // The client left before the close handler was in place: it will not be called.
      close();
    }
  }

  private void write(String eventJson) {
    if (closed) {
      return;
    }
    if (response.writeQueueFull()) {
      unwritten++;
      return;
    }
    reportSkipped();
    response.write("event: message\ndata: " + eventJson + "\n\n");
  }

  private void tick() {
    ticks++;
    if (closed || response.writeQueueFull()) {
      return;
    }
    reportSkipped();
    if (remote != null && ticks % RENEW_TICKS == 0) {
      remote.renew();
    }
    if (ticks % KEEP_ALIVE_TICKS == 0) {
      response.write(": keep-alive\n\n");
    }
  }

  private void reportSkipped() {
    long skipped = subscription.takeSkipped() + unwritten;
    unwritten = 0;
    if (skipped > 0) {
      response.write("event: skipped\ndata: {\"skipped\":" + skipped + "}\n\n");
    }
  }

  private void close() {
    if (!closed) {
      closed = true;
      ctx.vertx().cancelTimer(timer);
      subscription.close();
      if (remote != null) {
        remote.close();
        remoteEvents.unregister();
      }
      if (revocations != null) {
        revocations.unregister();
      }
    }
  }
}
