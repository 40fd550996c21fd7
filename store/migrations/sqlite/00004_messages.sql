-- +goose Up
-- A broadcast and its recipients are committed together; the send jobs are
-- created afterwards in the registry (see dispatch_intents there).
CREATE TABLE messages (
    id                   TEXT PRIMARY KEY,
    body                 TEXT NOT NULL,
    media_urls           TEXT NOT NULL DEFAULT '[]', -- JSON array
    audience             TEXT NOT NULL,              -- JSON, as requested
    from_number          TEXT NOT NULL,
    encoding             TEXT NOT NULL,
    segments_per_message INTEGER NOT NULL,
    recipients           INTEGER NOT NULL,
    chunks               INTEGER NOT NULL,
    created_by           TEXT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    dispatched_at        TIMESTAMP
);
CREATE INDEX messages_created ON messages (created_at);

-- One row per recipient; chunk groups recipients into send jobs.
CREATE TABLE message_recipients (
    message_id   TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    member_id    TEXT NOT NULL,
    chunk        INTEGER NOT NULL,
    phone_cipher BLOB NOT NULL,
    body         TEXT NOT NULL, -- rendered for this recipient
    status       TEXT NOT NULL CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'failed', 'skipped')),
    provider_id  TEXT,
    error_code   TEXT NOT NULL DEFAULT '',
    error_detail TEXT NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 0,
    sent_at      TIMESTAMP,
    finished_at  TIMESTAMP,
    updated_at   TIMESTAMP NOT NULL,
    PRIMARY KEY (message_id, member_id)
);
CREATE INDEX message_recipients_chunk ON message_recipients (message_id, chunk, status);
CREATE INDEX message_recipients_provider ON message_recipients (provider_id);

-- Segments sent per calendar month (UTC), for the plan's quota.
CREATE TABLE segment_usage (
    month    TEXT PRIMARY KEY, -- YYYY-MM
    segments BIGINT NOT NULL
);

-- +goose Down
DROP TABLE segment_usage;
DROP TABLE message_recipients;
DROP TABLE messages;
