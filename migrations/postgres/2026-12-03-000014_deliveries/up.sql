-- One delivery per (subscription, event): made by the dispatcher, which reads the events in
-- commit order from its place (`dispatch.tx`, `dispatch.seq`, one row, locked while it works so
-- that one instance dispatches at a time); attempted by any instance that claims it
-- (FOR UPDATE SKIP LOCKED), so each attempt is made by one instance.
CREATE TABLE dispatch (
    id INTEGER PRIMARY KEY NOT NULL,
    tx BIGINT NOT NULL,
    seq BIGINT NOT NULL
);
INSERT INTO dispatch (id, tx, seq) VALUES (1, 0, 0);
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    -- pending, succeeded or failed
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_status INTEGER,
    last_error TEXT,
    next_attempt_at BIGINT,
    -- The body of a delivery that is no logged event (a ping); NULL: the event's.
    payload TEXT,
    created BIGINT NOT NULL,
    UNIQUE (webhook_id, event_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX deliveries_by_webhook ON deliveries (webhook_id, created, id);
