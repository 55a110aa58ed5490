DROP INDEX users_by_active;
DROP INDEX users_by_modified;
DROP INDEX users_by_last;
DROP INDEX users_by_first;
DROP INDEX users_by_external_id;
ALTER TABLE users DROP COLUMN modified;
ALTER TABLE users DROP COLUMN external_id;
ALTER TABLE users DROP COLUMN active;
