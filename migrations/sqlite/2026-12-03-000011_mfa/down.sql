DELETE FROM codes WHERE kind = 'mfa';
CREATE TABLE codes_old (
    id TEXT PRIMARY KEY NOT NULL,
    secret_hash TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('confirm', 'invite', 'reset', 'email')),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created BIGINT NOT NULL,
    payload TEXT
);
INSERT INTO codes_old SELECT id, secret_hash, kind, user_id, expires, attempts, created, payload FROM codes;
DROP TABLE codes;
ALTER TABLE codes_old RENAME TO codes;
CREATE INDEX codes_by_user ON codes (user_id, kind);
ALTER TABLE accounts DROP COLUMN require_mfa;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_totp;
