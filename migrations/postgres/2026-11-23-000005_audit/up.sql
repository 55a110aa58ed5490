-- Every change made through the API: who, to which account, what, from where, in which request.
CREATE TABLE audit (
    id TEXT PRIMARY KEY NOT NULL,
    created BIGINT NOT NULL,
    actor_id TEXT,
    account_id TEXT,
    -- The account and its ancestors when the entry was written, as /id/id/: who may read it
    -- is decided by the tree of that moment, so a later account reusing an id sees nothing.
    account_path TEXT,
    action TEXT NOT NULL,
    target TEXT,
    ip TEXT,
    request_id TEXT
);
CREATE INDEX audit_by_created ON audit (created, id);
CREATE INDEX audit_by_account ON audit (account_id, created, id);
