-- The append-only journal: every accepted message is written once and never updated.
--
-- intake_journal kept one pending bit per sink on every row and an archive key, so a message
-- cost seven row versions (insert, archive key, archive written, three bit clears, delete), each
-- with its WAL and its vacuum. Now a sink keeps its progress in journal_cursor, one row advanced
-- once per batch, and old rows go a whole partition at a time.
--
-- Order: a sink reads rows in (tx, id) order, tx being the writing transaction's id, and only
-- rows whose transaction ended before every transaction still running began
-- (tx < pg_snapshot_xmin(pg_current_snapshot())). Nothing can appear behind that horizon later,
-- so a cursor (tx, id) never skips a row, however many intakes append at once.
CREATE TABLE journal (
    id          BIGINT       NOT NULL,
    tx          XID8         NOT NULL DEFAULT pg_current_xact_id(),
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
    -- The sinks that must store the message, a bit each (SinkKind); fixed when it is appended.
    sinks       SMALLINT     NOT NULL
) PARTITION BY RANGE (id);
CREATE INDEX idx_journal_order ON journal (tx, id) INCLUDE (sinks);
CREATE INDEX idx_journal_id ON journal (id);

-- Where each sink stands: every row up to (tx, id) is stored (or quarantined). One node feeds a
-- sink at a time, the owner, under a lease it renews; batch_tx/batch_id is the end of the batch
-- it is writing, recorded before the write where a sink needs its batches rebuilt exactly after a
-- crash (the archive: the same objects with the same records).
CREATE TABLE journal_cursor (
    sink        TEXT        PRIMARY KEY,
    tx          XID8        NOT NULL DEFAULT '0',
    id          BIGINT      NOT NULL DEFAULT 0,
    batch_tx    XID8,
    batch_id    BIGINT,
    owner       TEXT,
    lease_until TIMESTAMPTZ,
    updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER SEQUENCE intake_journal_id_seq OWNED BY NONE;
ALTER SEQUENCE intake_journal_id_seq RENAME TO journal_id_seq;

-- Partitions by id, named journal_p<from>_<to>; the intake's pruning creates the next ones ahead
-- and drops those every sink has passed. The first cover what is still pending and beyond.
DO $$
DECLARE
  size CONSTANT BIGINT := 262144;  -- Journal.PARTITION_IDS
  next_id BIGINT := (SELECT last_value FROM journal_id_seq);
  low BIGINT := coalesce((SELECT min(id) FROM intake_journal WHERE pending <> 0), next_id);
  bound BIGINT := (low / size) * size;
BEGIN
  WHILE bound < next_id + 2 * size LOOP
    EXECUTE format('CREATE TABLE journal_p%s_%s PARTITION OF journal FOR VALUES FROM (%s) TO (%s)',
                   bound, bound + size, bound, bound + size);
    bound := bound + size;
  END LOOP;
END $$;

-- What the old journal still owed a sink moves over with its bits. An archive object that was
-- being written at the upgrade is written again, under the key of its new batch.
INSERT INTO journal (id, tx, device_id, category, epoch, seq, device_ts, topic, payload, qos, source, received_at,
                     accepted_at, sinks)
SELECT id, '0', device_id, category, epoch, seq, device_ts, topic, payload, qos, source, received_at, accepted_at, pending
FROM intake_journal WHERE pending <> 0;

DROP TABLE intake_journal;

-- What each sink still has to store: the rows after its cursor that carry its bit (the bits of
-- SinkKind). For operators and tests; the sinks themselves read through the order index.
CREATE VIEW journal_waiting AS
SELECT k.sink, j.*
FROM journal j
JOIN (VALUES ('archive', 1), ('timeseries', 2), ('registry', 4)) AS k(sink, bit) ON (j.sinks & k.bit) <> 0
LEFT JOIN journal_cursor c ON c.sink = k.sink
WHERE (j.tx, j.id) > (coalesce(c.tx, '0'), coalesce(c.id, 0));
