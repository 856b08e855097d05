package io.iotmeter.archive;

/** An object-store call that failed; the message names the endpoint, bucket, operation and key. */
public final class ObjectStoreException extends RuntimeException {

  public ObjectStoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
