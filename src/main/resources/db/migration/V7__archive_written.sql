-- Set on every row of an archive object once the object is written with all of them: a later
-- retry (another node, a restart, a recovery scan) then leaves the object alone instead of
-- rewriting it from the rows still in the journal — which, after pruning, could be fewer.
ALTER TABLE intake_journal ADD COLUMN archive_written BOOLEAN NOT NULL DEFAULT false;
