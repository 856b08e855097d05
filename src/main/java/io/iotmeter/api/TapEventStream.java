package io.iotmeter.api;

import io.iotmeter.ops.BusTap;
import io.iotmeter.ops.TapEvent;
import io.iotmeter.ops.TapRequest;
import io.iotmeter.ops.TapStream;
import io.vertx.core.http.HttpServerResponse;
import io.vertx.ext.web.RoutingContext;

import java.util.Optional;

/**
 * One {@code GET /debug/bus} response: a server-sent-events stream of the tap's messages.
 * {@code event: message} carries {@code {"time","address","kind","body"}}; {@code event: skipped}
 * carries {@code {"skipped": n}}, the messages dropped since the last report — by the rate limit,
 * or because the client reads more slowly than they come — sent before the next message or
 * within a second; a {@code : keep-alive} comment every 15 s keeps proxies from closing an idle
 * stream. The subscription ends when the client goes away.
 */
final class TapEventStream {

  private static final long TICK_MS = 1_000;
  private static final int KEEP_ALIVE_TICKS = 15;

  private final RoutingContext ctx;
  private final HttpServerResponse response;
  private TapStream subscription;
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
  static Optional<TapEventStream> open(RoutingContext ctx, BusTap tap, TapRequest request, int maxStreams) {
    TapEventStream stream = new TapEventStream(ctx);
    Optional<TapStream> subscription = tap.subscribe(request, maxStreams, ctx.vertx().getOrCreateContext(), stream::deliver);
    if (subscription.isEmpty()) {
      return Optional.empty();
    }
    stream.start(subscription.get());
    return Optional.of(stream);
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

  private void deliver(TapEvent event) {
    if (closed) {
      return;
    }
    if (response.writeQueueFull()) {
      unwritten++;
      return;
    }
    reportSkipped();
    response.write("event: message\ndata: " + event.toJson() + "\n\n");
  }

  private void tick() {
    ticks++;
    if (closed || response.writeQueueFull()) {
      return;
    }
    reportSkipped();
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
    }
  }
}
