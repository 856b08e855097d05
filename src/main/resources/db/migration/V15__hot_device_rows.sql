-- The rows written for every message — a device's last_seen and status (registry sink) and its
-- de-duplication state (intake) — are updated in place when they can be: a "HOT" update writes no
-- index entry, but only when no indexed column changes and the row's page has room. At 10,000
-- meters these two updates were PostgreSQL's largest statements (~95 µs a datagram, by
-- pg_stat_statements), every one writing a new entry into every index of its table.
--
-- last_seen was indexed for the liveness check; that check reads the online devices once every
-- few seconds, which a scan does in milliseconds even at 100,000 devices, while the index cost
-- an entry in all five indexes of devices on every message.
DROP INDEX IF EXISTS idx_devices_online_last_seen;
-- Room on every page for new versions of its rows (applies to pages written from now on; a
-- VACUUM FULL applies it to a table that exists).
ALTER TABLE devices SET (fillfactor = 50);
ALTER TABLE device_seq_tracking SET (fillfactor = 50);
