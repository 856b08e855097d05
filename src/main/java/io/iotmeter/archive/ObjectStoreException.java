package io.iotmeter.archive;

/** An object-store call that failed; the message names the endpoint, bucket, operation and key. */
public final class ObjectStoreException extends RuntimeException {

  private final boolean refusedContent;

  public ObjectStoreException(String message, Throwable cause) {
    this(message, false, cause);
  }

  public ObjectStoreException(String message, boolean refusedContent, Throwable cause) {
    super(message, cause);
    this.refusedContent = refusedContent;
  }

  /**
   * True when the store refused the object itself (its key or size), not us or the bucket:
   * writing the same object again cannot succeed, other objects can.
   */
  public boolean refusedContent() {
    return refusedContent;
  }
}
