DROP INDEX sessions_by_client;
ALTER TABLE sessions DROP COLUMN client_id;
DROP TABLE oauth_clients;
