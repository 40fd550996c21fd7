-- +goose Up
-- Broadcasts waiting to be handed to the job queue. The row is written
-- before the church's transaction commits and deleted in the same registry
-- transaction that inserts the send jobs, so a crash in between is found by
-- the recovery sweep without looking into any church's database.
CREATE TABLE dispatch_intents (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    message_id TEXT NOT NULL,
    created_at BIGINT NOT NULL, -- Unix seconds
    PRIMARY KEY (tenant_id, message_id)
);
CREATE INDEX dispatch_intents_created ON dispatch_intents (created_at);

-- Pacing slots shared by every process: the next free send time (Unix
-- microseconds) per key (a sending number, or the provider account).
CREATE TABLE send_pacing (
    key     TEXT PRIMARY KEY,
    next_us BIGINT NOT NULL
);

-- +goose Down
DROP TABLE send_pacing;
DROP TABLE dispatch_intents;
