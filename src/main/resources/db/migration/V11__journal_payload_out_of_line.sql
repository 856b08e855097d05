-- The sinks update a journal row several times (its archive key, archive_written, its pending
-- bits) but never its payload. Stored out of line (TOAST, uncompressed: compressing would only
-- cost CPU), an unchanged payload is not copied by those updates: each writes only the narrow row
-- with its pointer to the payload, instead of a new copy of the whole ~1.5 KB datagram. Payloads
-- of a few hundred bytes (status, acknowledgements) may stay in the row.
ALTER TABLE intake_journal ALTER COLUMN payload SET STORAGE EXTERNAL;
ALTER TABLE intake_journal SET (toast_tuple_target = 128);
