-- Energy billing data: five-minute periods per meter, compiled from the time series (package
-- energy owns both tables).
--
-- energy_period_state: one row per meter and period it sent samples for — when the period is
-- due for (re)compilation, and what the time series alone cannot tell about it (how the meter's
-- clock compared with the platform's, its restarts). The time-series sink marks a period after
-- its points are stored; the energy compiler clears due_at once it has compiled.
CREATE TABLE energy_period_state (
    device_id        VARCHAR(100) NOT NULL,
    period_start     TIMESTAMPTZ  NOT NULL,
    -- When to compile next: the period's end plus energy.grace_s, or shortly after late data
    -- arrived; NULL once compiled with nothing new since.
    due_at           TIMESTAMPTZ,
    -- The smallest (received_at - ts) of the period's datagrams, milliseconds: the meter's clock
    -- against the platform's (network and buffering only ever add to it).
    min_delay_ms     BIGINT,
    -- A datagram's ts went back against the one before it by more than 2 s: the clock was set back.
    clock_set_back   BOOLEAN      NOT NULL DEFAULT false,
    -- Where the meter restarted (a new epoch): its registers may count again from zero.
    resets           TIMESTAMPTZ[] NOT NULL DEFAULT '{}',
    -- When data for the period was last stored: a version compiled before it is out of date (a
    -- new one is made from late data).
    marked_at        TIMESTAMPTZ  NOT NULL,
    PRIMARY KEY (device_id, period_start)
);
CREATE INDEX idx_energy_period_state_due ON energy_period_state (due_at) WHERE due_at IS NOT NULL;

-- energy_periods: every version of every compiled period, append-only — a correction is a new
-- version, never an overwrite (the trigger below refuses UPDATE and DELETE). change_id orders
-- all versions of all meters: the export's since= cursor.
CREATE TABLE energy_periods (
    change_id             BIGSERIAL        NOT NULL UNIQUE,
    device_id             VARCHAR(100)     NOT NULL,
    period_start          TIMESTAMPTZ      NOT NULL,
    version               INTEGER          NOT NULL,
    period_end            TIMESTAMPTZ      NOT NULL,
    -- metadata.consumption_point_id (at most 32 characters), else the device id.
    consumption_point_id  VARCHAR(100)     NOT NULL,
    train_id              VARCHAR(100),
    active_import_kwh     DOUBLE PRECISION NOT NULL,
    active_export_kwh     DOUBLE PRECISION NOT NULL,
    reactive_import_kvarh DOUBLE PRECISION NOT NULL,
    reactive_export_kvarh DOUBLE PRECISION NOT NULL,
    latitude              DOUBLE PRECISION,
    longitude             DOUBLE PRECISION,
    location_age_s        DOUBLE PRECISION,
    coverage_pct          DOUBLE PRECISION NOT NULL,
    source                VARCHAR(16)      NOT NULL,
    quality_time          VARCHAR(16)      NOT NULL,
    quality_energy        VARCHAR(16)      NOT NULL,
    quality_location      VARCHAR(16)      NOT NULL,
    reason                VARCHAR(16)      NOT NULL,
    compiled_at           TIMESTAMPTZ      NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, period_start, version)
);
CREATE INDEX idx_energy_periods_start ON energy_periods (period_start);
CREATE INDEX idx_energy_periods_train ON energy_periods (train_id, period_start) WHERE train_id IS NOT NULL;

CREATE FUNCTION energy_periods_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'energy_periods is append-only: a correction is a new version';
END $$;
CREATE TRIGGER energy_periods_append_only BEFORE UPDATE OR DELETE ON energy_periods
  FOR EACH ROW EXECUTE FUNCTION energy_periods_append_only();
