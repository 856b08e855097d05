package io.iotmeter.ops;

import io.vertx.core.Context;
import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryContext;
import io.vertx.core.eventbus.Message;
import io.vertx.core.json.JsonObject;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Watches the event bus of one node, for debugging: counts every message the node sends,
 * publishes, requests or replies, per address, and hands those matching an open
 * {@link TapStream} to its subscriber.
 *
 * <p>It is an outbound interceptor, so each message is seen once, on the node that sends it
 * (a publish to three consumers is one message; in a cluster, a message from another node is
 * seen on that node). The interceptor runs on the sender's thread in the middle of ingest, so it
 * does constant work and never waits: a map lookup and two counter increments, then, only while
 * streams are open, a pattern test per stream; rendering a body happens only for messages a
 * stream's rate limit admits. It always passes the message on, whatever happens inside.
 *
 * <p>One tap per Vert.x instance, shared by every API verticle instance on the node:
 * {@link #acquire} installs it on first use, the last {@link #release} removes it.
 */
public final class BusTap {

  private static final Logger LOG = LoggerFactory.getLogger(BusTap.class);
  /** Vert.x sends every reply to a one-off address with this prefix ({@code EventBusImpl.generateReplyAddress}). */
  static final String REPLY_PREFIX = "__vertx.reply.";
  /** The cluster-wide tap's addresses ({@code iot.debug.tap.*}). */
  static final String DEBUG_PREFIX = "iot.debug.";
  private static final long SAMPLE_INTERVAL_NANOS = 900_000_000L;
  private static final Map<Vertx, BusTap> INSTALLED = new HashMap<>();

  private final Vertx vertx;
  private final Handler<DeliveryContext<Object>> interceptor = this::intercept;
  private final Instant since = Instant.now().truncatedTo(ChronoUnit.MILLIS);
  private final AddressCounters counters = new AddressCounters(System.nanoTime());
  private final AtomicLong lastSample = new AtomicLong(System.nanoTime());
  private final AtomicBoolean failureLogged = new AtomicBoolean();
  /** Replaced whole on every change, so the interceptor reads it without a lock. */
  private volatile TapStream[] streams = new TapStream[0];
  private int holders;

  private BusTap(Vertx vertx) {
    this.vertx = vertx;
  }

  /** The node's tap, installed on the event bus by the first caller; pair with {@link #release}. */
  public static synchronized BusTap acquire(Vertx vertx) {
    BusTap tap = INSTALLED.computeIfAbsent(vertx, v -> {
      BusTap installed = new BusTap(v);
      v.eventBus().addOutboundInterceptor(installed.interceptor);
      return installed;
    });
    tap.holders++;
    return tap;
  }

  /** The last holder's release takes the interceptor off the bus and closes the open streams. */
  public void release() {
    synchronized (BusTap.class) {
      if (--holders > 0) {
        return;
      }
      INSTALLED.remove(vertx);
      vertx.eventBus().removeOutboundInterceptor(interceptor);
    }
    Arrays.stream(streams).forEach(TapStream::close);
  }

  /**
   * Opens a stream whose events are handed to {@code events} on {@code context}; empty when
   * {@code maxStreams} are open already.
   */
  public synchronized Optional<TapStream> subscribe(TapRequest request, int maxStreams, Context context, Handler<TapEvent> events) {
    if (streams.length >= maxStreams) {
      return Optional.empty();
    }
    TapStream stream = new TapStream(this, request, context, events);
    TapStream[] more = Arrays.copyOf(streams, streams.length + 1);
    more[streams.length] = stream;
    streams = more;
    return Optional.of(stream);
  }

  synchronized void remove(TapStream stream) {
    streams = Arrays.stream(streams).filter(s -> s != stream).toArray(TapStream[]::new);
  }

  public int openStreams() {
    return streams.length;
  }

  /**
   * Recomputes the rates and forgets requests that were never answered. Meant to be called about
   * once a second; calls closer than that are ignored, so every API instance may call it.
   */
  public void sample() {
    long now = System.nanoTime();
    long last = lastSample.get();
    if (now - last < SAMPLE_INTERVAL_NANOS || !lastSample.compareAndSet(last, now)) {
      return;
    }
    counters.sample(now);
    for (TapStream stream : streams) {
      stream.forgetUnansweredRequests(now);
    }
  }

  /**
   * The address catalogue with this node's counters ({@code addresses}, {@code uncatalogued},
   * {@code replies}, {@code rate_window_s}), the time counting began ({@code since}) and
   * {@code streams.open}.
   */
  public JsonObject report() {
    return counters.toJson()
        .put("since", since.toString())
        .put("streams", new JsonObject().put("open", streams.length));
  }

  private void intercept(DeliveryContext<Object> delivery) {
    try {
      observe(delivery);
    } catch (RuntimeException e) {
      // Debugging must never cost a message: note the fault once and let the message go on.
      if (failureLogged.compareAndSet(false, true)) {
        LOG.warn("The bus tap failed on a message to {}; it keeps passing messages on", delivery.message().address(), e);
      }
    } finally {
      delivery.next();
    }
  }

  private void observe(DeliveryContext<Object> delivery) {
    Message<Object> message = delivery.message();
    String address = message.address();
    MessageKind kind;
    if (address.startsWith(REPLY_PREFIX)) {
      kind = MessageKind.REPLY;
      counters.recordReply();
    } else {
      kind = !delivery.send() ? MessageKind.PUBLISH : message.replyAddress() != null ? MessageKind.REQUEST : MessageKind.SEND;
      counters.record(address);
    }
    if (address.startsWith(DEBUG_PREFIX)) {
      return; // the tap's own traffic across the cluster: a stream must not show (and feed) itself
    }
    TapStream[] open = streams;
    for (TapStream stream : open) {
      stream.offer(address, kind, message.replyAddress(), delivery.body());
    }
  }
}
