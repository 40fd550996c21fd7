-- +goose Up
-- The plan sets a church's limits (admins, monthly segments); limits come from configuration.
ALTER TABLE tenants ADD COLUMN plan TEXT NOT NULL DEFAULT 'standard';

-- Failed logins per key (an email's blind index), times in Unix seconds:
-- the lockout survives restarts and holds across every process sharing
-- this registry.
CREATE TABLE login_throttle (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE login_throttle;
ALTER TABLE tenants DROP COLUMN plan;
