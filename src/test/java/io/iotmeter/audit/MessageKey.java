package io.iotmeter.audit;

/** A message as the platform identifies it: its device and its {@code seq} (one boot epoch). */
public record MessageKey(String device, long seq) implements Comparable<MessageKey> {

  @Override
  public int compareTo(MessageKey other) {
    int byDevice = device.compareTo(other.device);
    return byDevice != 0 ? byDevice : Long.compare(seq, other.seq);
  }

  @Override
  public String toString() {
    return device + "#" + seq;
  }
}
