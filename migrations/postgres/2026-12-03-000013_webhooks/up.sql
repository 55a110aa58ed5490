-- Webhook subscriptions: where an account's events go. `account_id` NULL: every account (the
-- owner's). `events`: the patterns subscribed to, as a JSON array. The secret signs each
-- delivery (sealed under KEY_ENCRYPTION_KEY when it is set); after a rotation the previous one
-- signs too until `previous_until`. `failing_since`: when its deliveries began to fail (none has
-- succeeded since); five days of that disables it.
CREATE TABLE webhooks (
    id TEXT PRIMARY KEY NOT NULL,
    account_id TEXT REFERENCES accounts (id) ON DELETE CASCADE,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    description TEXT,
    enabled BOOLEAN NOT NULL DEFAULT TRUE,
    secret TEXT NOT NULL,
    previous_secret TEXT,
    previous_until BIGINT,
    failing_since BIGINT,
    created BIGINT NOT NULL
);
CREATE INDEX webhooks_by_created ON webhooks (created, id);
CREATE INDEX webhooks_by_account ON webhooks (account_id);
