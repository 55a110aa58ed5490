-- TOTP (RFC 6238) per user: the secret (sealed under KEY_ENCRYPTION_KEY when it is set),
-- whether it is confirmed (on), and the last time step a code was accepted for (a code is
-- accepted once: only steps after it count, checked and set in one statement).
CREATE TABLE mfa_totp (
    user_id TEXT PRIMARY KEY NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    secret TEXT NOT NULL,
    confirmed BOOLEAN NOT NULL DEFAULT FALSE,
    last_step BIGINT NOT NULL DEFAULT 0,
    created BIGINT NOT NULL
);
-- Single-use recovery codes, as SHA-256 hashes (each is 80 random bits).
CREATE TABLE mfa_recovery_codes (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    PRIMARY KEY (user_id, code_hash)
);
-- An account that requires MFA of its users and of every descendant's.
ALTER TABLE accounts ADD COLUMN require_mfa BOOLEAN NOT NULL DEFAULT FALSE;
-- The second step of a login with TOTP on: a code of kind 'mfa' (5 minutes). SQLite cannot
-- change a CHECK in place: the table is rebuilt.
CREATE TABLE codes_new (
    id TEXT PRIMARY KEY NOT NULL,
    secret_hash TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('confirm', 'invite', 'reset', 'email', 'mfa')),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created BIGINT NOT NULL,
    payload TEXT
);
INSERT INTO codes_new SELECT id, secret_hash, kind, user_id, expires, attempts, created, payload FROM codes;
DROP TABLE codes;
ALTER TABLE codes_new RENAME TO codes;
CREATE INDEX codes_by_user ON codes (user_id, kind);
