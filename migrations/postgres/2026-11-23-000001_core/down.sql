DROP TABLE revoked_tokens;
DROP TABLE users;
DROP TABLE accounts;
DROP TABLE plans;
