package io.iotmeter.timeseries;

/**
 * A time-series store operation failed; the message names the store, what was attempted and why
 * (the store's own words where it gave any).
 */
public final class TimeSeriesException extends RuntimeException {

  private final boolean retryable;
  private final boolean refusedData;

  TimeSeriesException(String message, boolean retryable, Throwable cause) {
    this(message, retryable, false, cause);
  }

  TimeSeriesException(String message, boolean retryable, boolean refusedData, Throwable cause) {
    super(message, cause);
    this.retryable = retryable;
    this.refusedData = refusedData;
  }

  /**
   * True when the store refused what was written (HTTP 400, 413, 422: a bad line, a type
   * conflict, a request too large) rather than us (401, 403, 404: token, bucket): splitting the
   * write can find the message at fault, whereas a refused token would refuse every message.
   */
  public boolean refusedData() {
    return refusedData;
  }

  /**
   * True when the same call may succeed later (store unreachable, overloaded, timed out); false
   * when the store refused the request itself (bad data, bad token), so repeating it cannot help.
   */
  public boolean retryable() {
    return retryable;
  }
}
