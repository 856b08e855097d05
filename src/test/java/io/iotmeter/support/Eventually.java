package io.iotmeter.support;

import java.time.Duration;

/** Retries an assertion until it holds or the deadline passes (for effects that land asynchronously). */
public final class Eventually {

  private Eventually() {
  }

  public static void within(Duration timeout, Runnable assertion) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      try {
        assertion.run();
        return;
      } catch (AssertionError e) {
        if (System.nanoTime() > deadline) {
          throw e;
        }
        try {
          Thread.sleep(50);
        } catch (InterruptedException interrupted) {
          Thread.currentThread().interrupt();
          throw e;
        }
      }
    }
  }
}
