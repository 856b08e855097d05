-- What the intake accepted, for the de-duplication window (intake.dedup_window_s): the exact
-- check behind the bounded sequence state. A message is a copy only if the same device sent the
-- same seq with the same device time; the sequence state alone (gaps forgotten beyond its bound,
-- a counter reset without the usual reboot signs) never drops a message seen for the first time.
-- v1 payloads (no seq) are keyed by a hash of their bytes, as a negative seq.
CREATE TABLE intake_seen (
    device_id   VARCHAR(100) NOT NULL,
    seq         BIGINT       NOT NULL,
    device_ts   TIMESTAMPTZ  NOT NULL,
    accepted_at TIMESTAMPTZ  NOT NULL DEFAULT now(),
    PRIMARY KEY (device_id, seq, device_ts)
);
-- Rows arrive in time order: a BRIN index finds the expired ones for almost no upkeep.
CREATE INDEX idx_intake_seen_accepted ON intake_seen USING brin (accepted_at);
