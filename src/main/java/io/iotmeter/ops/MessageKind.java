package io.iotmeter.ops;

import java.util.Locale;

/** How a message the tap saw was sent. */
public enum MessageKind {
  /** Point-to-point, no reply expected ({@code send}). */
  SEND,
  /** To every consumer ({@code publish}). */
  PUBLISH,
  /** Point-to-point with a reply expected ({@code request}). */
  REQUEST,
  /** The answer to a request. */
  REPLY;

  public String wireName() {
    return name().toLowerCase(Locale.ROOT);
  }
}
