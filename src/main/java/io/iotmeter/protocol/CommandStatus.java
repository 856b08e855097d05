package io.iotmeter.protocol;

/**
 * The life of a stored command: {@code pending} until the device acknowledges it with one of the
 * four results, or {@code timeout} when no acknowledgement came in time.
 */
public enum CommandStatus {
  PENDING, ACCEPTED, REJECTED, ERROR, UNSUPPORTED, TIMEOUT;

  /** The results a device (or PUT /api/commands/{cmd_id}/ack) may report. */
  public boolean isAckResult() {
    return this != PENDING && this != TIMEOUT;
  }
}
