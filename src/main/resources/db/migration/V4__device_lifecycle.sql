-- Device lifecycle: command delivery and progress, liveness.

-- When a command was handed to MQTT (a device session or a broker took it). Commands still
-- pending without it are delivered again when their device comes online.
ALTER TABLE device_commands ADD COLUMN published_at TIMESTAMPTZ;
CREATE INDEX idx_commands_pending ON device_commands (device_id, created_at) WHERE status = 'pending';

-- Firmware-update progress reported on iot/{id}/ota/status, per command (GET /api/commands/{cmd_id}).
CREATE TABLE device_command_progress (
    id                BIGSERIAL PRIMARY KEY,
    cmd_id            UUID         NOT NULL REFERENCES device_commands (cmd_id) ON DELETE CASCADE,
    ota_state         VARCHAR(20)  NOT NULL,
    progress_pct      DOUBLE PRECISION,
    fw_version_target VARCHAR(50),
    detail            TEXT,
    reported_at       TIMESTAMPTZ  NOT NULL,
    received_at       TIMESTAMPTZ  NOT NULL,
    -- The journal row it came from: a sink retry cannot record a report twice.
    journal_id        BIGINT       NOT NULL UNIQUE
);
CREATE INDEX idx_command_progress_cmd ON device_command_progress (cmd_id, reported_at);

-- The liveness check looks at online devices only.
CREATE INDEX idx_devices_online_last_seen ON devices (last_seen) WHERE connection_status = 'online';
