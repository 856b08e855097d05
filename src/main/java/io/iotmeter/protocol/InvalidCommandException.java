package io.iotmeter.protocol;

/** A command or one of its parameters breaks the protocol's rules; the message names the field. */
public final class InvalidCommandException extends RuntimeException {

  public InvalidCommandException(String message) {
    super(message, null, false, false);
  }
}
