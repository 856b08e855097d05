package io.iotmeter.ops;

import io.vertx.core.Future;
import io.vertx.core.Vertx;
import org.slf4j.Logger;

import java.util.function.Supplier;

/**
 * A periodic job that never overlaps itself: a tick that comes while the previous run has not
 * finished is skipped, so a slow database cannot pile up scans of the same rows. A failure is
 * logged and the job runs again at the next tick.
 */
public final class Periodic {

  private final Supplier<Future<?>> job;
  private final String name;
  private final Logger log;
  private boolean running;
  private long skipped;

  private Periodic(String name, Supplier<Future<?>> job, Logger log) {
    this.name = name;
    this.job = job;
    this.log = log;
  }

  /** Starts {@code job} every {@code intervalMs}; returns the timer id (cancel it to stop). */
  public static long every(Vertx vertx, long intervalMs, String name, Logger log, Supplier<Future<?>> job) {
    Periodic periodic = new Periodic(name, job, log);
    return vertx.setPeriodic(intervalMs, id -> periodic.tick());
  }

  void tick() {
    if (running) {
      skipped++;
      return;
    }
    running = true;
    Future<?> run;
    try {
      run = job.get();
    } catch (RuntimeException e) {
      run = Future.failedFuture(e);
    }
    run.onComplete(done -> {
      running = false;
      if (done.failed()) {
        log.warn("{} failed (runs again next time): {}", name, done.cause().getMessage());
      }
    });
  }

  /** Ticks skipped because the previous run was still going. */
  long skipped() {
    return skipped;
  }

  boolean running() {
    return running;
  }

  /** For tests: a job driven by hand. */
  static Periodic manual(String name, Logger log, Supplier<Future<?>> job) {
    return new Periodic(name, job, log);
  }
}
