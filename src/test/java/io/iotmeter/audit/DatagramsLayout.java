package io.iotmeter.audit;

import io.iotmeter.protocol.Category;
import io.iotmeter.support.Datagrams;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * The layout of the tests that send {@link Datagrams#telemetry}{@code (device, seq)} for every
 * seq: one voltage and one current sample 1 s before the datagram's ts (T0 + 10·seq s), which
 * make three points with the derived active power — so a test that claims "stored exactly once"
 * can be audited per key in every store ({@link StoreAudit}). A test that sends a hello among
 * them names its seqs ({@link #withHellos}): the hello of seq {@code s} reports firmware
 * {@code 1.<s>.0} (what the registry audit reads back), as in {@link MixedLayout}.
 */
public final class DatagramsLayout implements LoadLayout {

  private static final Instant T0 = Datagrams.T0;

  private final Set<Long> hellos;

  public DatagramsLayout() {
    this(Set.of());
  }

  private DatagramsLayout(Set<Long> hellos) {
    this.hellos = Set.copyOf(hellos);
  }

  /** The same layout where {@code seqs} are hellos ({@link Datagrams#hello} at T0 + 10·seq, firmware {@code 1.<seq>.0}). */
  public static DatagramsLayout withHellos(Long... seqs) {
    return new DatagramsLayout(Set.of(seqs));
  }

  @Override
  public Category category(long seq) {
    return hellos.contains(seq) ? Category.HELLO : Category.TELEMETRY;
  }

  @Override
  public byte[] payload(String device, long seq) {
    return (category(seq) == Category.HELLO
        ? Datagrams.hello(device, seq, T0.plusSeconds(10 * seq), helloFirmware(seq), 1000 + 10 * seq)
        : Datagrams.telemetry(device, seq)).encode().getBytes(StandardCharsets.UTF_8);
  }

  @Override
  public List<PointKey> points(long seq) {
    if (category(seq) != Category.TELEMETRY) {
      return List.of();
    }
    Instant at = T0.plusSeconds(10 * seq - 1);
    return List.of(new PointKey("voltage_dc", at), new PointKey("current_dc", at), new PointKey("power_active", at));
  }

  @Override
  public long seqAt(Instant time) {
    long offset = time.getEpochSecond() + 1 - T0.getEpochSecond();
    if (time.getNano() != 0 || offset < 0 || offset % 10 != 0) {
      return -1;
    }
    return offset / 10;
  }

  @Override
  public String helloFirmware(long seq) {
    return "1." + seq + ".0";
  }
}
