-- When fw_version was last set (by a hello, or through the API), so that a hello processed late
-- (a sink catching up from the journal) cannot replace a newer firmware version with an older one.
ALTER TABLE devices ADD COLUMN fw_version_at TIMESTAMPTZ;
