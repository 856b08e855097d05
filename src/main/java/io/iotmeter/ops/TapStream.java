package io.iotmeter.ops;

import io.vertx.core.Context;
import io.vertx.core.Handler;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One open subscription to the tap. The bus interceptor {@linkplain #offer offers} it every
 * message of the node, on the sender's thread; it keeps what matches its pattern, sampling and
 * rate limit, renders the body there (bounded by the rate limit, and the sender still owns the
 * body at that moment) and hands the event to its subscriber's context.
 */
public final class TapStream {

  /** Requests whose reply the stream still waits for; beyond this their replies go unseen. */
  private static final int MAX_AWAITED_REPLIES = 1_000;
  /** Longer than any send timeout of the platform: a reply this late will not come. */
  private static final long REPLY_WAIT_NANOS = 60_000_000_000L;

  private final BusTap tap;
  private final TapRequest request;
  private final Context context;
  private final Handler<TapEvent> events;
  private final TokenBucket bucket;
  private final AtomicLong matched = new AtomicLong();
  private final AtomicLong skipped = new AtomicLong();
  /** Reply address → the request it answers, so the reply can be shown under the request's address. */
  private final Map<String, AwaitedReply> awaitedReplies = new ConcurrentHashMap<>();
  private volatile boolean closed;

  private record AwaitedReply(String requestAddress, long sentAtNanos) {
  }

  TapStream(BusTap tap, TapRequest request, Context context, Handler<TapEvent> events) {
    this.tap = tap;
    this.request = request;
    this.context = context;
    this.events = events;
    this.bucket = new TokenBucket(request.ratePerSecond(), System.nanoTime());
  }

  public TapRequest request() {
    return request;
  }

  /** Messages dropped by the rate limit since the last call. */
  public long takeSkipped() {
    return skipped.getAndSet(0);
  }

  /** Stops the stream: no event is handed over after this returns on the subscriber's context. */
  public void close() {
    if (!closed) {
      closed = true;
      tap.remove(this);
      awaitedReplies.clear();
    }
  }

  void offer(String address, MessageKind kind, String replyAddress, Object body) {
    String shown = address;
    if (kind == MessageKind.REPLY) {
      AwaitedReply awaited = awaitedReplies.remove(address);
      if (awaited == null) {
        return;
      }
      shown = awaited.requestAddress();
    } else if (!request.pattern().matches(address)) {
      return;
    } else if (kind == MessageKind.REQUEST && replyAddress != null && awaitedReplies.size() < MAX_AWAITED_REPLIES) {
      awaitedReplies.put(replyAddress, new AwaitedReply(address, System.nanoTime()));
    }
    if (request.sampleEvery() > 1 && matched.incrementAndGet() % request.sampleEvery() != 0) {
      return;
    }
    if (!bucket.tryTake(System.nanoTime())) {
      skipped.incrementAndGet();
      return;
    }
    TapEvent event = new TapEvent(Instant.now().truncatedTo(ChronoUnit.MILLIS), shown, kind, BodyText.of(body));
    context.runOnContext(v -> {
      if (!closed) {
        events.handle(event);
      }
    });
  }

  /** Forgets requests that were never answered (timed out, or no consumer). */
  void forgetUnansweredRequests(long nowNanos) {
    awaitedReplies.values().removeIf(awaited -> nowNanos - awaited.sentAtNanos() > REPLY_WAIT_NANOS);
  }
}
