-- The intake journal: every accepted device message, committed before MQTT acknowledges it.
-- Sinks (archive, time series, registry) take messages from it and clear their bit in
-- `pending` once their store holds them; rows with no pending sink are pruned.

CREATE TABLE intake_journal (
    id          BIGSERIAL PRIMARY KEY,
    device_id   VARCHAR(100) NOT NULL,
    category    VARCHAR(20)  NOT NULL,
    epoch       INTEGER,
    seq         BIGINT,
    device_ts   TIMESTAMPTZ,
    topic       TEXT         NOT NULL,
    payload     TEXT         NOT NULL,
    qos         SMALLINT     NOT NULL,
    source      TEXT         NOT NULL,
    received_at TIMESTAMPTZ  NOT NULL,
    accepted_at TIMESTAMPTZ  NOT NULL DEFAULT now(),
    -- One bit per sink that still has to store the message (see JournalSink).
    pending     SMALLINT     NOT NULL,
    -- The archive object this message was assigned to, recorded before the object is written,
    -- so that a retry rewrites the same object instead of writing the message twice.
    archive_key TEXT
) WITH (fillfactor = 80);
CREATE INDEX idx_intake_journal_pending ON intake_journal (id) WHERE pending <> 0;

-- De-duplication state per device (SequenceTracker): the boot epoch, the highest seq, the
-- sequence numbers still missing, recent status messages, and when a gap alert falls due.
ALTER TABLE device_seq_tracking
    ALTER COLUMN last_seq SET DEFAULT -1,
    ADD COLUMN epoch                  INTEGER     NOT NULL DEFAULT 0,
    ADD COLUMN last_ts                TIMESTAMPTZ,
    ADD COLUMN epoch_started_at       TIMESTAMPTZ,
    ADD COLUMN previous_epoch_last_ts TIMESTAMPTZ,
    ADD COLUMN last_accepted_at       TIMESTAMPTZ,
    ADD COLUMN online_at              TIMESTAMPTZ,
    ADD COLUMN online_ts              TIMESTAMPTZ,
    ADD COLUMN missing                JSONB       NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN recent_status          JSONB       NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN gap_alert_due          TIMESTAMPTZ;
CREATE INDEX idx_seq_tracking_gap_due ON device_seq_tracking (gap_alert_due) WHERE gap_alert_due IS NOT NULL;

-- When connection_status last changed from device traffic, so that a message processed late
-- (a sink catching up from the journal) cannot overwrite a newer status with an older one.
ALTER TABLE devices ADD COLUMN connection_status_at TIMESTAMPTZ;
CREATE INDEX idx_intake_journal_archive_key ON intake_journal (archive_key) WHERE archive_key IS NOT NULL;
