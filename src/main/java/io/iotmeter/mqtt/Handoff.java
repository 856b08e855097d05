package io.iotmeter.mqtt;

import io.iotmeter.bus.BusAddress;
import io.iotmeter.protocol.InboundMessage;
import io.vertx.core.AsyncResult;
import io.vertx.core.Context;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.eventbus.DeliveryOptions;
import io.vertx.core.json.JsonObject;

import java.time.Duration;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * Hands a received message to the intake over {@code iot.inbound} and waits until it is
 * durable (or known as a copy, or refused as malformed). Brief outages are retried; when the
 * intake stays unavailable the future fails and the message is not acknowledged, so the sender
 * keeps it. Shared by the device endpoint and the broker bridge.
 *
 * <p>At most {@code maxInFlight} messages ({@code maxInFlightBytes} of payload) are with the
 * intake at a time; the others wait here,
 * in arrival order, each counted in its connection's pending bounds (which pause its socket).
 * Without that cap, an overload had every held message refused by the intake's full queue and
 * retried on a timer: with 10,000 meters that was some 20,000 refusals a second, and the CPU
 * they took came out of the intake's own throughput.
 */
public final class Handoff {

  /** The quick retries after a refusal or a timeout, before giving up (or, for a patient sender, {@link #PATIENCE}). */
  static final List<Duration> RETRIES = List.of(Duration.ofMillis(200), Duration.ofSeconds(1), Duration.ofSeconds(3));

  private final Vertx vertx;
  private final DeliveryOptions options;
  private final List<Duration> retries;
  private final Duration patience;

  private final int maxInFlight;
  private final long maxInFlightBytes;
  /** Guarded by this: the waiting messages and what is with the intake. */
  private final java.util.ArrayDeque<Waiting> waiting = new java.util.ArrayDeque<>();
  private int inFlight;
  private long inFlightBytes;

  /** A message waiting for its turn; answered on the context it was handed over from. */
  private record Waiting(InboundMessage message, boolean patient, BooleanSupplier wanted, Promise<JsonObject> answer,
                         Context context) {
    long bytes() {
      return message.payload() == null ? 0 : message.payload().length;
    }
  }

  public Handoff(Vertx vertx, Duration timeout) {
    this(vertx, timeout, 500, 16L << 20);
  }

  /**
   * @param maxInFlight      messages with the intake at once ({@code handoff_max_in_flight})
   * @param maxInFlightBytes their payload bytes ({@code handoff_max_in_flight_bytes}); one message
   *                         larger than that still goes, alone
   */
  public Handoff(Vertx vertx, Duration timeout, int maxInFlight, long maxInFlightBytes) {
    this(vertx, timeout, maxInFlight, maxInFlightBytes, RETRIES, PATIENCE);
  }

  /**
   * With other retry delays: only so that tests of the failure paths take milliseconds instead
   * of the production delays' seconds; production always uses {@link #RETRIES} and {@link #PATIENCE}.
   */
  Handoff(Vertx vertx, Duration timeout, int maxInFlight, long maxInFlightBytes, List<Duration> retries, Duration patience) {
    if (maxInFlight < 1) {
      throw new IllegalArgumentException("handoff_max_in_flight must be at least 1, got " + maxInFlight);
    }
    if (maxInFlightBytes < 1) {
      throw new IllegalArgumentException("handoff_max_in_flight_bytes must be at least 1, got " + maxInFlightBytes);
    }
    this.vertx = vertx;
    this.maxInFlight = maxInFlight;
    this.maxInFlightBytes = maxInFlightBytes;
    this.retries = List.copyOf(retries);
    this.patience = patience;
    this.options = new DeliveryOptions(io.iotmeter.bus.LocalCodec.OPTIONS).setSendTimeout(timeout.toMillis());
    io.iotmeter.bus.LocalCodec.register(vertx, InboundMessage.class);
  }

  /** Succeeds with the intake's answer ({@code outcome}: accepted, duplicate, rejected). */
  public Future<JsonObject> send(InboundMessage message) {
    return enqueue(message, false, () -> false);
  }

  /**
   * Like {@link #send}, but keeps trying (every {@link #PATIENCE}) for as long as {@code wanted}
   * says the sender is still there: a saturated or unreachable intake then holds the message
   * back — and the sender's socket, at its bound — instead of failing it and dropping the
   * connection. Fails only once nobody wants the answer any more.
   */
  public Future<JsonObject> sendWhile(InboundMessage message, BooleanSupplier wanted) {
    return enqueue(message, true, wanted);
  }

  /** Messages waiting for their turn (not yet with the intake). */
  synchronized int waiting() {
    return waiting.size();
  }

  private Future<JsonObject> enqueue(InboundMessage message, boolean patient, BooleanSupplier wanted) {
    Promise<JsonObject> answer = Promise.promise();
    synchronized (this) {
      waiting.add(new Waiting(message, patient, wanted, answer, vertx.getOrCreateContext()));
    }
    drain();
    return answer.future();
  }

  /**
   * Hands waiting messages to the intake, in order, while fewer than {@code maxInFlight} of
   * fewer than {@code maxInFlightBytes} are with it. The lock covers only the queue and the
   * counters; the requests go out after it.
   */
  private void drain() {
    List<Waiting> handed = new java.util.ArrayList<>();
    List<Waiting> gone = new java.util.ArrayList<>();
    synchronized (this) {
      Waiting next;
      while ((next = waiting.peek()) != null && inFlight < maxInFlight
          && (inFlight == 0 || inFlightBytes + next.bytes() <= maxInFlightBytes)) {
        waiting.poll();
        if (next.patient() && !next.wanted().getAsBoolean()) {
          gone.add(next);
          continue;
        }
        inFlight++;
        inFlightBytes += next.bytes();
        handed.add(next);
      }
    }
    gone.forEach(w -> answer(w, Future.failedFuture("the sender left before its message was handed to the intake")));
    for (Waiting next : handed) {
      attempt(next.message(), 0, next.patient() ? next.wanted() : () -> false).onComplete(result -> {
        synchronized (this) {
          inFlight--;
          inFlightBytes -= next.bytes();
        }
        answer(next, result);
        drain();
      });
    }
  }

  private static void answer(Waiting waiting, AsyncResult<JsonObject> result) {
    waiting.context().runOnContext(v -> waiting.answer().handle(result));
  }

  static final Duration PATIENCE = Duration.ofSeconds(5);

  /**
   * Between half and one and a half times the delay: when an overloaded intake refuses many
   * messages at once, their retries spread out instead of arriving together again.
   */
  static long jittered(long millis) {
    return Math.max(1, millis / 2 + java.util.concurrent.ThreadLocalRandom.current().nextLong(millis + 1));
  }

  private Future<JsonObject> attempt(InboundMessage body, int retry, BooleanSupplier wanted) {
    return vertx.eventBus().<JsonObject>request(BusAddress.INBOUND.address(), body, options)
        .map(reply -> reply.body())
        .recover(e -> {
          boolean patient = retry >= retries.size();
          if (patient && !wanted.getAsBoolean()) {
            return Future.failedFuture(e);
          }
          long delay = jittered((patient ? patience : retries.get(retry)).toMillis());
          return Future.<Void>future(p -> vertx.setTimer(delay, id -> p.complete()))
              .compose(v -> attempt(body, Math.min(retry + 1, retries.size()), wanted));
        });
  }
}
