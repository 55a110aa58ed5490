-- OAuth clients (RFC 6749 section 2): a confidential client authenticates with its secret
-- (stored only as a SHA-256 hash: it is 256 random bits, so no slow hash is needed); a public
-- client (`secret_hash` NULL) only names itself.
CREATE TABLE oauth_clients (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    secret_hash TEXT,
    created BIGINT NOT NULL
);
CREATE INDEX oauth_clients_by_created ON oauth_clients (created, id);
-- The client a session's tokens were issued to: its refresh token works for that client only,
-- and deleting the client ends its sessions (a login racing the deletion fails on the key).
ALTER TABLE sessions ADD COLUMN client_id TEXT REFERENCES oauth_clients (id);
CREATE INDEX sessions_by_client ON sessions (client_id);
