package io.iotmeter.mqtt;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * PUBACK / PUBREC in the order the PUBLISH packets arrived (MQTT 3.1.1, 4.6), although the
 * hand-offs they wait for may finish in any order: an acknowledgement is sent only when every
 * earlier one has been.
 */
final class OrderedAcks {

  /** One awaited acknowledgement. */
  static final class Slot {
    private final Runnable send;
    private boolean ready;

    private Slot(Runnable send) {
      this.send = send;
    }
  }

  private final Deque<Slot> slots = new ArrayDeque<>();

  /** Reserves the next place in line; {@code send} runs once this and all earlier slots are ready. */
  Slot reserve(Runnable send) {
    Slot slot = new Slot(send);
    slots.add(slot);
    return slot;
  }

  void ready(Slot slot) {
    slot.ready = true;
    while (!slots.isEmpty() && slots.peek().ready) {
      slots.poll().send.run();
    }
  }
}
