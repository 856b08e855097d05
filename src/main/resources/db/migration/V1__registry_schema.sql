-- Device registry schema (the reference system's five tables, with the same column names).
-- Timestamps are timestamptz so every API timestamp is an unambiguous UTC instant.

CREATE TABLE devices (
    id                SERIAL PRIMARY KEY,
    device_id         VARCHAR(100) NOT NULL UNIQUE,
    device_name       VARCHAR(255) NOT NULL,
    device_type       VARCHAR(100),
    location          VARCHAR(255),
    status            VARCHAR(20)  NOT NULL DEFAULT 'active'
                      CHECK (status IN ('active', 'inactive')),
    connection_status VARCHAR(20)  NOT NULL DEFAULT 'unknown'
                      CHECK (connection_status IN ('online', 'offline', 'unknown')),
    last_seen         TIMESTAMPTZ,
    fw_version        VARCHAR(50),
    created_at        TIMESTAMPTZ  NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ  NOT NULL DEFAULT now(),
    metadata          JSONB        NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX idx_devices_status ON devices (status);
CREATE INDEX idx_devices_type ON devices (device_type);

-- Per-device key/value configuration; one row per key (configuration changes are audited
-- through updated_at and the command that caused them).
CREATE TABLE device_configs (
    id           SERIAL PRIMARY KEY,
    device_id    VARCHAR(100) NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE ON UPDATE CASCADE,
    config_key   VARCHAR(100) NOT NULL,
    config_value JSONB,
    updated_at   TIMESTAMPTZ  NOT NULL DEFAULT now(),
    UNIQUE (device_id, config_key)
);

CREATE TABLE device_alerts (
    id           SERIAL PRIMARY KEY,
    device_id    VARCHAR(100) NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE ON UPDATE CASCADE,
    alert_type   VARCHAR(100) NOT NULL DEFAULT 'general',
    severity     VARCHAR(20)  NOT NULL DEFAULT 'info',
    message      TEXT,
    acknowledged BOOLEAN      NOT NULL DEFAULT false,
    created_at   TIMESTAMPTZ  NOT NULL DEFAULT now()
);
CREATE INDEX idx_alerts_device ON device_alerts (device_id, created_at DESC);
CREATE INDEX idx_alerts_unacknowledged ON device_alerts (acknowledged) WHERE NOT acknowledged;

CREATE TABLE device_commands (
    id         SERIAL PRIMARY KEY,
    cmd_id     UUID         NOT NULL UNIQUE,
    device_id  VARCHAR(100) NOT NULL REFERENCES devices (device_id) ON DELETE CASCADE ON UPDATE CASCADE,
    cmd        VARCHAR(50)  NOT NULL,
    params     JSONB        NOT NULL DEFAULT '{}'::jsonb,
    status     VARCHAR(20)  NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'accepted', 'rejected', 'error', 'unsupported', 'timeout')),
    ack_detail TEXT,
    created_at TIMESTAMPTZ  NOT NULL DEFAULT now(),
    acked_at   TIMESTAMPTZ
);
CREATE INDEX idx_commands_device ON device_commands (device_id, created_at DESC);

CREATE TABLE device_seq_tracking (
    device_id  VARCHAR(100) PRIMARY KEY REFERENCES devices (device_id) ON DELETE CASCADE ON UPDATE CASCADE,
    last_seq   BIGINT      NOT NULL,
    gap_count  INTEGER     NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
