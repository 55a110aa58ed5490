-- Events (a transactional outbox): one row per change, inserted in the change's transaction.
-- `tx` is that transaction's id. Readers take only rows of transactions older than every
-- transaction still running (the snapshot's xmin), in (tx, seq) order: a sequence alone is not
-- commit order (a later seq may commit first), but no row can appear below the horizon after a
-- reader has passed it, so a cursor on (tx, seq) never skips or repeats an event.
CREATE TABLE events (
    seq BIGSERIAL PRIMARY KEY,
    tx BIGINT NOT NULL DEFAULT (pg_current_xact_id()::text::bigint),
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
