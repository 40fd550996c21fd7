-- +goose Up
-- Moving a church's database to another PostgreSQL server. While its writes
-- are paused for the final copy the church is 'moving'; every acquisition
-- then answers "unavailable, retry".
ALTER TABLE tenants DROP CONSTRAINT tenants_status_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_status_check
    CHECK (status IN ('provisioning', 'active', 'suspended', 'moving', 'deleting', 'deleted'));

-- One row per move under way: where from, where to, the status to go back
-- to, and the last step reached, so a rerun after a crash continues (or
-- rolls back) from there. The row is deleted once the old copy is dropped.
CREATE TABLE tenant_moves (
    tenant_id     TEXT PRIMARY KEY REFERENCES tenants (id),
    from_server   TEXT NOT NULL,
    from_database TEXT NOT NULL,
    to_server     TEXT NOT NULL,
    to_database   TEXT NOT NULL,
    prior_status  TEXT NOT NULL,
    step          TEXT NOT NULL,
    started_at    BIGINT NOT NULL, -- Unix seconds
    updated_at    BIGINT NOT NULL
);

-- +goose Down
DROP TABLE tenant_moves;
ALTER TABLE tenants DROP CONSTRAINT tenants_status_check;
ALTER TABLE tenants ADD CONSTRAINT tenants_status_check
    CHECK (status IN ('provisioning', 'active', 'suspended', 'deleting', 'deleted'));
