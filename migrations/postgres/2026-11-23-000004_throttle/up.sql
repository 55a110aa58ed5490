-- Failed-attempt counters for logins and codes, per identity and per client address, shared by
-- every instance on the database. An attempt is reserved (counted) before the password hash
-- or code is checked, so concurrent guesses can never exceed the limit.
CREATE TABLE throttle (
    key TEXT PRIMARY KEY NOT NULL,
    failures INTEGER NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL
);
