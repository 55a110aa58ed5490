-- A self-service email change waits for the new address to confirm it: a code of kind 'email'
-- that carries the new address.
ALTER TABLE codes DROP CONSTRAINT codes_kind_check;
ALTER TABLE codes ADD CONSTRAINT codes_kind_check
    CHECK (kind IN ('confirm', 'invite', 'reset', 'email'));
ALTER TABLE codes ADD COLUMN payload TEXT;
