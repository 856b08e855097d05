package io.iotmeter.ops;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.vertx.core.Context;
import io.vertx.core.Vertx;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * How late the event loops run what is due: a timer on each of them every
 * {@value #PERIOD_MS} ms notes how much later than asked it fired. A loop that something blocks
 * shows here first. {@code iot_meter_event_loop_delay_seconds} is the largest of the last delays.
 */
public final class EventLoopProbe {

  static final long PERIOD_MS = 500;
  private final Vertx vertx;
  private final List<Long> timers = new ArrayList<>();
  private final AtomicLongArray lastDelayNanos;

  private EventLoopProbe(Vertx vertx, int loops) {
    this.vertx = vertx;
    this.lastDelayNanos = new AtomicLongArray(loops);
  }

  /** One probe per event loop (Vert.x hands out its loops round-robin to new contexts). */
  public static EventLoopProbe start(Vertx vertx, MeterRegistry registry, int loops) {
    EventLoopProbe probe = new EventLoopProbe(vertx, loops);
    for (int i = 0; i < loops; i++) {
      int index = i;
      Context context = ((io.vertx.core.internal.VertxInternal) vertx).createEventLoopContext();
      context.runOnContext(v -> probe.schedule(index));
    }
    Gauge.builder("iot_meter.event.loop.delay.seconds", probe, EventLoopProbe::maxDelaySeconds)
        .description("How late the event loops ran a timer (the largest of the last delays)").register(registry);
    return probe;
  }

  private void schedule(int index) {
    long[] due = {System.nanoTime() + PERIOD_MS * 1_000_000};
    synchronized (timers) {
      timers.add(vertx.setPeriodic(PERIOD_MS, id -> {
        long now = System.nanoTime();
        lastDelayNanos.set(index, Math.max(0, now - due[0]));
        due[0] = now + PERIOD_MS * 1_000_000;
      }));
    }
  }

  double maxDelaySeconds() {
    long max = 0;
    for (int i = 0; i < lastDelayNanos.length(); i++) {
      max = Math.max(max, lastDelayNanos.get(i));
    }
    return max / 1e9;
  }

  public void stop() {
    synchronized (timers) {
      timers.forEach(vertx::cancelTimer);
    }
  }
}
