-- When the device acknowledged receiving a command over MQTT (PUBCOMP; through brokers: when a
-- broker took it). A pending command without it is sent again when its device is heard from,
-- so one queued in memory for an offline device survives a platform restart.
ALTER TABLE device_commands ADD COLUMN delivered_at TIMESTAMPTZ;
