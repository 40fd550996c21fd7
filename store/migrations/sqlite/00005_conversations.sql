-- +goose Up
-- Delivery receipts are applied in the provider's occurred_at order: this is
-- the occurred_at (Unix microseconds) of the last one applied.
ALTER TABLE message_recipients ADD COLUMN receipt_us BIGINT NOT NULL DEFAULT 0;

-- The two-way inbox: one conversation per outside phone, a member's or an
-- unknown contact's. The phone is sealed; phone_hash is its blind index
-- (the same as members.phone_hash).
CREATE TABLE conversations (
    id              TEXT PRIMARY KEY,
    phone_hash      TEXT NOT NULL UNIQUE,
    phone_cipher    BLOB NOT NULL,
    member_id       TEXT REFERENCES members (id) ON DELETE SET NULL,
    church_number   TEXT NOT NULL, -- the church's number the contact texts
    status          TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    unread          INTEGER NOT NULL DEFAULT 0,
    flagged         BOOLEAN NOT NULL DEFAULT FALSE, -- a text looked like an opt-out
    opted_out       BOOLEAN NOT NULL DEFAULT FALSE, -- an unknown contact texted STOP
    last_message_us BIGINT NOT NULL, -- Unix microseconds: orders the inbox
    last_preview    TEXT NOT NULL DEFAULT '',
    last_direction  TEXT NOT NULL DEFAULT '',
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE INDEX conversations_recent ON conversations (last_message_us, id);
CREATE INDEX conversations_member ON conversations (member_id);

CREATE TABLE conversation_messages (
    id              TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    direction       TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    body            TEXT NOT NULL,
    media           TEXT NOT NULL DEFAULT '[]', -- JSON: [{url, content_type, size}]
    keyword         TEXT NOT NULL DEFAULT '',   -- inbound: stop, start or help when the text was one
    flag            TEXT NOT NULL DEFAULT '',   -- inbound: possible_opt_out
    purpose         TEXT NOT NULL DEFAULT '',   -- outbound: reply, or the keyword answered
    status          TEXT NOT NULL CHECK (status IN ('received', 'queued', 'sending', 'sent', 'delivered', 'failed', 'skipped')),
    provider_id     TEXT UNIQUE,
    error_code      TEXT NOT NULL DEFAULT '',
    error_detail    TEXT NOT NULL DEFAULT '',
    created_by      TEXT NOT NULL DEFAULT '', -- the admin who replied; "system" for automatic answers
    created_us      BIGINT NOT NULL, -- Unix microseconds: orders the thread
    sent_at         TIMESTAMP,
    finished_at     TIMESTAMP,
    receipt_us      BIGINT NOT NULL DEFAULT 0,
    updated_at      TIMESTAMP
);
CREATE INDEX conversation_messages_thread ON conversation_messages (conversation_id, created_us, id);

-- +goose Down
DROP TABLE conversation_messages;
DROP TABLE conversations;
ALTER TABLE message_recipients DROP COLUMN receipt_us;
