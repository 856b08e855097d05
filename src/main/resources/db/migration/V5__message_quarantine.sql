-- Messages the platform could not store or refused: nothing a device sent is lost without a trace.
--  kind 'quarantined': a sink could not store an accepted message (its bit in the journal was
--    cleared so that every message behind it keeps flowing); replayable after a fix.
--  kind 'rejected': the intake refused it (not JSON, not the protocol, unknown device); kept
--    until the archive sink has written it under _rejected/ and then for rejected_retention_h.
-- Both are archived (raw bytes and reason) under _quarantine/ or _rejected/ in the S3 bucket.
CREATE TABLE message_quarantine (
    id                BIGSERIAL PRIMARY KEY,
    kind              VARCHAR(12)  NOT NULL CHECK (kind IN ('quarantined', 'rejected')),
    sink              VARCHAR(20),
    error_type        VARCHAR(40)  NOT NULL,
    reason            TEXT         NOT NULL,
    device_id         VARCHAR(100),
    category          VARCHAR(20),
    topic             TEXT         NOT NULL,
    payload           BYTEA        NOT NULL,
    qos               SMALLINT     NOT NULL,
    source            TEXT         NOT NULL,
    received_at       TIMESTAMPTZ  NOT NULL,
    journal_id        BIGINT,
    epoch             INTEGER,
    seq               BIGINT,
    device_ts         TIMESTAMPTZ,
    created_at        TIMESTAMPTZ  NOT NULL DEFAULT now(),
    archive_key       TEXT,
    archived_at       TIMESTAMPTZ,
    replayed_at       TIMESTAMPTZ,
    replay_journal_id BIGINT
);
-- Two nodes quarantining the same message for the same sink keep one row.
CREATE UNIQUE INDEX idx_quarantine_journal_sink ON message_quarantine (journal_id, sink) WHERE kind = 'quarantined';
CREATE INDEX idx_quarantine_unarchived ON message_quarantine (id) WHERE archived_at IS NULL;
CREATE INDEX idx_quarantine_kind ON message_quarantine (kind, id DESC);
