-- Identity and audit. API keys with roles and device credentials, both only as salted bcrypt
-- hashes, owned by the identity verticle (security.IdentityVerticle).
CREATE TABLE api_keys (
    -- Public id, part of the key text (iot_<id>_<secret>); 'admin' is the bootstrap key.
    id          VARCHAR(32)  PRIMARY KEY,
    name        VARCHAR(100) NOT NULL,
    role        VARCHAR(10)  NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
    secret_hash TEXT         NOT NULL,
    created_at  TIMESTAMPTZ  NOT NULL DEFAULT now()
);

-- One password per device (MQTT username = device id); issuing again replaces it.
CREATE TABLE device_credentials (
    device_id   VARCHAR(100) PRIMARY KEY REFERENCES devices (device_id) ON DELETE CASCADE ON UPDATE CASCADE,
    secret_hash TEXT         NOT NULL,
    created_at  TIMESTAMPTZ  NOT NULL DEFAULT now()
);

-- Every state-changing API call (and every refused one): who (the key's id and name), what,
-- when, from where, and the answer's status. Written by the API verticle (api.AuditTrail).
CREATE TABLE audit_log (
    id      BIGSERIAL    PRIMARY KEY,
    at      TIMESTAMPTZ  NOT NULL DEFAULT now(),
    key_id  VARCHAR(32),
    actor   VARCHAR(100) NOT NULL,
    method  VARCHAR(10)  NOT NULL,
    route   TEXT         NOT NULL,
    path    TEXT         NOT NULL,
    status  SMALLINT     NOT NULL,
    remote  VARCHAR(100)
);
CREATE INDEX idx_audit_log_at ON audit_log USING brin (at);

-- Who sent a command: the API key's name ('anonymous' with security off).
ALTER TABLE device_commands ADD COLUMN issued_by VARCHAR(100);
