-- +goose Up
-- Closing a church: while it is deleting, the status it had before (a
-- restore goes back to it), who asked and when (Unix seconds), and when its
-- data is purged. purge_at is indexed: the purge job reads only the due rows.
ALTER TABLE tenants ADD COLUMN prior_status TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN delete_requested_by TEXT NOT NULL DEFAULT '';
ALTER TABLE tenants ADD COLUMN delete_requested_at BIGINT;
ALTER TABLE tenants ADD COLUMN purge_at BIGINT;
-- Set once the purge has begun: from then on the church cannot be restored.
ALTER TABLE tenants ADD COLUMN purge_started_at BIGINT;
CREATE INDEX tenants_purge_at ON tenants (purge_at);

-- What is kept of a purged church: its id, who asked for the deletion and
-- when, and when it was purged. No name, email or phone.
CREATE TABLE tenant_purges (
    tenant_id    TEXT PRIMARY KEY,
    requested_by TEXT NOT NULL,
    requested_at BIGINT NOT NULL, -- Unix seconds
    purged_at    BIGINT NOT NULL
);

-- +goose Down
DROP TABLE tenant_purges;
DROP INDEX tenants_purge_at;
ALTER TABLE tenants DROP COLUMN purge_started_at;
ALTER TABLE tenants DROP COLUMN purge_at;
ALTER TABLE tenants DROP COLUMN delete_requested_at;
ALTER TABLE tenants DROP COLUMN delete_requested_by;
ALTER TABLE tenants DROP COLUMN prior_status;
