-- +goose Up
-- A church's number: its provider id, and whether it is being released
-- (sending stops at once; the provider release waits until release_at, Unix
-- seconds, and the church may undo it until then).
ALTER TABLE phone_numbers ADD COLUMN provider_id TEXT NOT NULL DEFAULT '';
ALTER TABLE phone_numbers ADD COLUMN state TEXT NOT NULL DEFAULT 'active';
ALTER TABLE phone_numbers ADD COLUMN release_at BIGINT;
-- 10DLC: the number's assignment to its church's campaign ('', pending, assigned, failed).
ALTER TABLE phone_numbers ADD COLUMN campaign_state TEXT NOT NULL DEFAULT '';
CREATE INDEX phone_numbers_release ON phone_numbers (release_at);

-- Number purchases under way, one row per order until the number is the
-- church's (done) or the order is undone (failed). The recovery job finds
-- stuck ones here without opening any church's database.
CREATE TABLE number_orders (
    id                 TEXT PRIMARY KEY,
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    e164               TEXT NOT NULL,
    step               TEXT NOT NULL CHECK (step IN ('placing', 'ordered', 'active', 'done', 'failed')),
    provider_order_id  TEXT NOT NULL DEFAULT '',
    provider_number_id TEXT NOT NULL DEFAULT '',
    error              TEXT NOT NULL DEFAULT '',
    created_at         BIGINT NOT NULL, -- Unix seconds
    updated_at         BIGINT NOT NULL
);
-- One live order per number.
CREATE UNIQUE INDEX number_orders_live ON number_orders (e164) WHERE step IN ('placing', 'ordered', 'active');
CREATE INDEX number_orders_updated ON number_orders (updated_at);
CREATE INDEX number_orders_tenant ON number_orders (tenant_id);

-- Find a church's provider objects (messaging profile, brand, campaign).
CREATE INDEX provider_objects_tenant ON provider_objects (tenant_id, kind);

-- Churches whose 10DLC registration waits on the provider: the poller's
-- work list, so a poll never opens a church with nothing pending.
CREATE TABLE registration_polls (
    tenant_id    TEXT PRIMARY KEY REFERENCES tenants (id),
    next_poll_at BIGINT NOT NULL -- Unix seconds
);
CREATE INDEX registration_polls_due ON registration_polls (next_poll_at);

-- +goose Down
DROP TABLE registration_polls;
DROP INDEX provider_objects_tenant;
DROP TABLE number_orders;
DROP INDEX phone_numbers_release;
ALTER TABLE phone_numbers DROP COLUMN campaign_state;
ALTER TABLE phone_numbers DROP COLUMN release_at;
ALTER TABLE phone_numbers DROP COLUMN state;
ALTER TABLE phone_numbers DROP COLUMN provider_id;
