CREATE TABLE devices (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    created BIGINT NOT NULL
);
CREATE INDEX devices_by_account ON devices (account_id, created, id);

CREATE TABLE seat_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    seats BIGINT NOT NULL CHECK (seats > 0),
    created BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    redeemed BIGINT,
    redeemed_by TEXT
);
