-- Whether a bootstrap admin key was ever stored (made on the first secured start, or configured):
-- once it was, a start without one does not make and print another. After DELETE /api/keys/admin a
-- new bootstrap key takes an operator's act: security.admin_key, or one start with
-- security.mint_admin_key: true. Written only by the identity verticle.
CREATE TABLE identity_bootstrap (
    id         SMALLINT    PRIMARY KEY CHECK (id = 1),
    stored_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- A database that already holds keys had its bootstrap.
INSERT INTO identity_bootstrap (id) SELECT 1 WHERE EXISTS (SELECT 1 FROM api_keys);
