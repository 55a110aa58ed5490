-- Events (a transactional outbox): one row per change, inserted in the change's transaction.
-- SQLite has one writer at a time, so `seq` is commit order; `tx` is always 0 (the order is
-- (tx, seq) on both backends).
CREATE TABLE events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tx BIGINT NOT NULL DEFAULT 0,
    id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    account_id TEXT,
    account_path TEXT,
    actor_id TEXT,
    request_id TEXT,
    data TEXT NOT NULL
);
CREATE INDEX events_in_order ON events (tx, seq);
CREATE INDEX events_by_time ON events (occurred_at);
