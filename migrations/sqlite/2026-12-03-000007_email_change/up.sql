-- A self-service email change waits for the new address to confirm it: a code of kind 'email'
-- that carries the new address. SQLite cannot change a CHECK in place: the table is rebuilt.
CREATE TABLE codes_new (
    id TEXT PRIMARY KEY NOT NULL,
    secret_hash TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('confirm', 'invite', 'reset', 'email')),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created BIGINT NOT NULL,
    payload TEXT
);
INSERT INTO codes_new (id, secret_hash, kind, user_id, expires, attempts, created)
    SELECT id, secret_hash, kind, user_id, expires, attempts, created FROM codes;
DROP TABLE codes;
ALTER TABLE codes_new RENAME TO codes;
CREATE INDEX codes_by_user ON codes (user_id, kind);
