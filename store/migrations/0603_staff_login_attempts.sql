-- Login attempts per source address and minute (package staff, throttle.go),
-- shared by every replica on the database so that the per-address cap holds
-- across them. Rows older than two minutes are deleted as attempts come.
CREATE TABLE staff_login_attempts (
    source    TEXT NOT NULL,     -- an IPv4 address or an IPv6 /64
    minute_ms BIGINT NOT NULL,   -- the minute's start, Unix milliseconds
    attempts  INTEGER NOT NULL,
    PRIMARY KEY (source, minute_ms)
);
