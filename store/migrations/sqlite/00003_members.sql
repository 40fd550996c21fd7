-- +goose Up
-- Members: phone and email are sealed (AES-256-GCM) with a blind index for
-- lookups; no plaintext phone or email is stored.
CREATE TABLE members (
    id             TEXT PRIMARY KEY,
    first_name     TEXT NOT NULL,
    last_name      TEXT NOT NULL DEFAULT '',
    name_key       TEXT NOT NULL, -- lower-cased "first last", for search
    phone_cipher   BLOB NOT NULL,
    phone_hash     TEXT NOT NULL UNIQUE,
    email_cipher   BLOB,
    email_hash     TEXT,
    consent_status TEXT NOT NULL CHECK (consent_status IN ('opted_in', 'opted_out')),
    consent_source TEXT NOT NULL CHECK (consent_source IN ('admin', 'import', 'keyword', 'provider')),
    consent_at     TIMESTAMP NOT NULL,
    consent_text   TEXT NOT NULL DEFAULT '',
    phone_invalid  BOOLEAN NOT NULL DEFAULT FALSE, -- the provider rejected the number (40310)
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX members_name_key ON members (name_key);
CREATE INDEX members_email_hash ON members (email_hash);

-- Every consent change, for the record.
CREATE TABLE consent_events (
    seq       INTEGER PRIMARY KEY AUTOINCREMENT,
    member_id TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    status    TEXT NOT NULL,
    source    TEXT NOT NULL,
    at        TIMESTAMP NOT NULL,
    wording   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX consent_events_member ON consent_events (member_id);

CREATE TABLE groups (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE group_members (
    group_id  TEXT NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    member_id TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, member_id)
);
CREATE INDEX group_members_member ON group_members (member_id);

CREATE TABLE templates (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    name_key   TEXT NOT NULL UNIQUE,
    body       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE templates;
DROP TABLE group_members;
DROP TABLE groups;
DROP TABLE consent_events;
DROP TABLE members;
