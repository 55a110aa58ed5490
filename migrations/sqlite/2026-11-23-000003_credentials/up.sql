-- Single-use codes (registration confirmation, invitation, password reset): the public id
-- finds the row, the secret is stored only as a hash, and wrong guesses are counted.
CREATE TABLE codes (
    id TEXT PRIMARY KEY NOT NULL,
    secret_hash TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('confirm', 'invite', 'reset')),
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires BIGINT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created BIGINT NOT NULL
);
CREATE INDEX codes_by_user ON codes (user_id, kind);

-- Refresh tokens: one family per login, rotated on every use.
CREATE TABLE refresh_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    secret_hash TEXT NOT NULL,
    family TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_version BIGINT NOT NULL,
    expires BIGINT NOT NULL,
    rotated BOOLEAN NOT NULL DEFAULT FALSE,
    created BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_by_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_by_user ON refresh_tokens (user_id);

CREATE TABLE personal_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    secret_hash TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_version BIGINT NOT NULL,
    description TEXT NOT NULL,
    created BIGINT NOT NULL,
    last_used BIGINT,
    expires_at BIGINT
);
CREATE INDEX personal_tokens_by_user ON personal_tokens (user_id, created, id);

CREATE TABLE groups (
    account_id TEXT NOT NULL REFERENCES accounts (id),
    id TEXT NOT NULL,
    labels TEXT NOT NULL DEFAULT '{}',
    created BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
);
CREATE INDEX groups_by_created ON groups (account_id, created, id);

CREATE TABLE group_labels (
    account_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (account_id, group_id, name),
    FOREIGN KEY (account_id, group_id) REFERENCES groups (account_id, id) ON DELETE CASCADE
);
CREATE INDEX group_labels_by_value ON group_labels (account_id, name, value);

CREATE TABLE memberships (
    account_id TEXT NOT NULL,
    group_id TEXT NOT NULL,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    roles TEXT NOT NULL,
    created BIGINT NOT NULL,
    PRIMARY KEY (account_id, group_id, user_id),
    FOREIGN KEY (account_id, group_id) REFERENCES groups (account_id, id) ON DELETE CASCADE
);
CREATE INDEX memberships_by_user ON memberships (user_id);
