DELETE FROM codes WHERE kind = 'mfa';
ALTER TABLE codes DROP CONSTRAINT codes_kind_check;
ALTER TABLE codes ADD CONSTRAINT codes_kind_check
    CHECK (kind IN ('confirm', 'invite', 'reset', 'email'));
ALTER TABLE accounts DROP COLUMN require_mfa;
DROP TABLE mfa_recovery_codes;
DROP TABLE mfa_totp;
