CREATE TABLE plans (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    plan_data TEXT NOT NULL,
    created BIGINT NOT NULL
);

INSERT INTO plans (id, name, plan_data, created) VALUES (
    'default', 'Default',
    '{"projectLimit":10,"componentLimit":100,"workerLimit":10,"storageLimit":10737418240,"monthlyGasLimit":1000000,"monthlyUploadLimit":10737418240}',
    CAST(strftime('%s', 'now') AS INTEGER) * 1000000
);

CREATE TABLE accounts (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    email TEXT,
    email_lower TEXT UNIQUE,
    plan_id TEXT NOT NULL REFERENCES plans (id),
    parent_id TEXT REFERENCES accounts (id),
    device_seats BIGINT NOT NULL DEFAULT 0 CHECK (device_seats >= 0),
    used_devices BIGINT NOT NULL DEFAULT 0 CHECK (used_devices >= 0 AND used_devices <= device_seats),
    suspended BOOLEAN NOT NULL DEFAULT FALSE,
    closed BOOLEAN NOT NULL DEFAULT FALSE,
    created BIGINT NOT NULL,
    activity BIGINT NOT NULL
);
CREATE INDEX accounts_by_created ON accounts (created, id);
CREATE INDEX accounts_by_parent ON accounts (parent_id, created, id);

CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    email TEXT NOT NULL,
    email_lower TEXT NOT NULL UNIQUE,
    username TEXT,
    username_lower TEXT UNIQUE,
    first TEXT,
    last TEXT,
    role TEXT NOT NULL CHECK (role IN ('user', 'admin', 'owner')),
    preferences TEXT NOT NULL DEFAULT '{}',
    verified BOOLEAN NOT NULL DEFAULT FALSE,
    status TEXT NOT NULL CHECK (status IN ('active', 'invited')),
    password_hash TEXT,
    token_version BIGINT NOT NULL DEFAULT 0,
    created BIGINT NOT NULL,
    activity BIGINT NOT NULL
);
CREATE INDEX users_by_created ON users (created, id);
CREATE INDEX users_by_account ON users (account_id, created, id);
CREATE INDEX users_by_role ON users (role, account_id);

CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_by_expiry ON revoked_tokens (expires);
