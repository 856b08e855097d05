package io.iotmeter.timeseries;

/**
 * A time-series store operation failed; the message names the store, what was attempted and why
 * (the store's own words where it gave any).
 */
public final class TimeSeriesException extends RuntimeException {

  private final boolean retryable;

  TimeSeriesException(String message, boolean retryable, Throwable cause) {
    super(message, cause);
    this.retryable = retryable;
  }

  /**
   * True when the same call may succeed later (store unreachable, overloaded, timed out); false
   * when the store refused the request itself (bad data, bad token), so repeating it cannot help.
   */
  public boolean retryable() {
    return retryable;
  }
}
