-- A login session (the refresh-token family `id` and the access tokens naming it as `sid`):
-- when and where it started, when it was last used (at most once a minute), whether MFA was
-- used. Ending it deletes this row and the family, which ends its access tokens at once.
CREATE TABLE sessions (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created BIGINT NOT NULL,
    last_used BIGINT NOT NULL,
    ip TEXT,
    user_agent TEXT,
    mfa BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX sessions_by_user ON sessions (user_id, created, id);
-- The sessions started before this table: one per live refresh-token family.
INSERT INTO sessions (id, user_id, created, last_used)
    SELECT family, MIN(user_id), MIN(created), MAX(created) FROM refresh_tokens GROUP BY family;
