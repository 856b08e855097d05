package io.iotmeter.energy;

import java.time.Instant;

/**
 * One meter's energy billing data for one period: energy drawn and fed back, reactive energy,
 * the last position, how much of the period the samples cover, where the energy came from and
 * the quality flags — what {@link PeriodCompiler} makes and the energy API serves.
 *
 * @param latitude  degrees WGS 84 of the last fix in the period, null without one
 * @param locationAgeS how old that fix was at the period's end, null without one
 * @param coveragePct how much of the period the samples cover, 0–100
 */
public record EnergyPeriod(Instant start, Instant end, double activeImportKwh, double activeExportKwh,
                           double reactiveImportKvarh, double reactiveExportKvarh, Double latitude, Double longitude,
                           Double locationAgeS, double coveragePct, Source source, TimeQuality time,
                           EnergyQuality energy, LocationQuality location) {

  /** A flag's name on the wire (lower case) and the two-hex-digit code settlement systems use. */
  public interface Flag {
    String name();

    String code();

    default String wireName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** Where the energy figures came from. */
  public enum Source {
    REGISTER, INTEGRATED;

    public String wireName() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }
  }

  /** The meter's clock within the period. */
  public enum TimeQuality implements Flag {
    VALID("7F"), INVALID("3D");

    private final String code;

    TimeQuality(String code) {
      this.code = code;
    }

    @Override
    public String code() {
      return code;
    }
  }

  /** How the energy figures were obtained. */
  public enum EnergyQuality implements Flag {
    /** From the registers, both boundaries between samples. */
    MEASURED("7F"),
    /** Integrated from power over a fully covered period, or a register boundary extrapolated, or across a meter reset. */
    ESTIMATED("2E"),
    /** Integrated, and the samples do not cover the whole period. */
    INCOMPLETE("2E"),
    /** A register went backwards without a meter reset. */
    INVALID("3D");

    private final String code;

    EnergyQuality(String code) {
      this.code = code;
    }

    @Override
    public String code() {
      return code;
    }
  }

  /** The position at the period's end. */
  public enum LocationQuality implements Flag {
    VALID("7F"), STALE("2E"), NONE("3D");

    private final String code;

    LocationQuality(String code) {
      this.code = code;
    }

    @Override
    public String code() {
      return code;
    }
  }
}
