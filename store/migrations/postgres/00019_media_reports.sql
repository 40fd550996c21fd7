-- +goose Up
-- Images uploaded for MMS (issue #15), kept in the church's own database so
-- they move, export and are deleted with the church. Served to the provider
-- at a signed, expiring URL; the id is what a broadcast names in media_ids.
CREATE TABLE media (
    id           TEXT PRIMARY KEY,
    content_type TEXT NOT NULL,
    size         BIGINT NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    data         BYTEA NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL
);

-- The weekly report groups texts, opt-outs and replies by time; the texts
-- index covers its query (no table lookups for a year of recipients).
CREATE INDEX message_recipients_sent ON message_recipients (sent_at, message_id, status);
CREATE INDEX consent_events_at ON consent_events (at);
CREATE INDEX conversation_messages_created ON conversation_messages (created_us);

-- +goose Down
DROP INDEX conversation_messages_created;
DROP INDEX consent_events_at;
DROP INDEX message_recipients_sent;
DROP TABLE media;
