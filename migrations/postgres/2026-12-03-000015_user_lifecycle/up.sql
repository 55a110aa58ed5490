-- A user's lifecycle as directories see it: `active` (false blocks logins and ended every
-- credential; true lets the user log in again), the directory's own id for it (`external_id`,
-- one per account), and when it last changed (`modified`, SCIM's meta.lastModified).
ALTER TABLE users ADD COLUMN active BOOLEAN NOT NULL DEFAULT TRUE;
ALTER TABLE users ADD COLUMN external_id TEXT;
ALTER TABLE users ADD COLUMN modified BIGINT NOT NULL DEFAULT 0;
UPDATE users SET modified = created;
-- Every attribute a SCIM filter may name has an index within the account (plain columns: on
-- SQLite lower() is the service's own Unicode function, which an index must not depend on).
CREATE UNIQUE INDEX users_by_external_id ON users (account_id, external_id);
CREATE INDEX users_by_first ON users (account_id, first);
CREATE INDEX users_by_last ON users (account_id, last);
CREATE INDEX users_by_modified ON users (account_id, modified);
CREATE INDEX users_by_active ON users (account_id, active);
