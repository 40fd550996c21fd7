-- +goose Up
-- Scheduled (once) and recurring broadcasts. The registry keeps each
-- active schedule's next due time (schedule_due), so a scheduler tick reads
-- only what is due and never opens a church with nothing due.
CREATE TABLE schedules (
    id          TEXT PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('once', 'recurring')),
    status      TEXT NOT NULL CHECK (status IN ('active', 'paused', 'cancelled', 'done')),
    name        TEXT NOT NULL DEFAULT '',
    send_at     TIMESTAMP,                       -- once: when
    rule        TEXT NOT NULL DEFAULT '', -- recurring: JSON rule in the church's timezone
    request     TEXT NOT NULL,            -- JSON: text or template, audience, media, urgent
    next_key    TEXT NOT NULL DEFAULT '', -- the next occurrence: its local date and time
    next_at     TIMESTAMP,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

-- Each occurrence fired, with the broadcast it made (its id derives from
-- the occurrence, so firing twice makes one broadcast).
CREATE TABLE schedule_runs (
    schedule_id TEXT NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
    occurrence  TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    fired_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (schedule_id, occurrence)
);

-- One welcome text per opt-in: the key is the consent event that opted in.
CREATE TABLE welcomes (
    member_id   TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    consent_seq BIGINT NOT NULL,
    message_id  TEXT NOT NULL,
    PRIMARY KEY (member_id, consent_seq)
);

-- +goose Down
DROP TABLE welcomes;
DROP TABLE schedule_runs;
DROP TABLE schedules;
