-- Every change made through the API: who, to which account, what, from where, in which request.
CREATE TABLE audit (
    id TEXT PRIMARY KEY NOT NULL,
    created BIGINT NOT NULL,
    actor_id TEXT,
    account_id TEXT,
    action TEXT NOT NULL,
    target TEXT,
    ip TEXT,
    request_id TEXT
);
CREATE INDEX audit_by_created ON audit (created, id);
CREATE INDEX audit_by_account ON audit (account_id, created, id);
