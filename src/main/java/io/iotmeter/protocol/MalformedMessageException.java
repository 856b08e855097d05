package io.iotmeter.protocol;

/**
 * A device message that breaks the protocol. {@link #errorType()} is the label it is counted
 * under in {@code mqtt_collector_messages_errors_total{error_type}}.
 */
public final class MalformedMessageException extends RuntimeException {

  /** Not JSON, or not valid UTF-8. */
  public static final String JSON_DECODE = "json_decode";
  /** JSON, but not the shape the protocol prescribes for its topic. */
  public static final String INVALID_PAYLOAD = "invalid_payload";
  /** A topic that is not one of the five device → platform topics. */
  public static final String INVALID_TOPIC = "invalid_topic";

  private final String errorType;

  public MalformedMessageException(String errorType, String message) {
    super(message, null, false, false);
    this.errorType = errorType;
  }

  public String errorType() {
    return errorType;
  }
}
