DELETE FROM codes WHERE kind = 'email';
ALTER TABLE codes DROP COLUMN payload;
ALTER TABLE codes DROP CONSTRAINT codes_kind_check;
ALTER TABLE codes ADD CONSTRAINT codes_kind_check CHECK (kind IN ('confirm', 'invite', 'reset'));
