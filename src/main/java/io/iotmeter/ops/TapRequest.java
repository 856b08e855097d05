package io.iotmeter.ops;

/**
 * What a tap stream asks for: the addresses, at most {@code ratePerSecond} messages a second
 * (the rest are skipped and counted), and only every {@code sampleEvery}-th matching message
 * (1 = all) — sampling thins a busy address evenly where the rate limit would show bursts.
 */
public record TapRequest(AddressPattern pattern, int ratePerSecond, int sampleEvery) {

  public static final int MAX_RATE = 1_000;
  public static final int MAX_SAMPLE = 1_000_000;

  public TapRequest {
    if (ratePerSecond < 1 || ratePerSecond > MAX_RATE) {
      throw new IllegalArgumentException("rate must be from 1 to " + MAX_RATE);
    }
    if (sampleEvery < 1 || sampleEvery > MAX_SAMPLE) {
      throw new IllegalArgumentException("sample must be from 1 to " + MAX_SAMPLE);
    }
  }
}
