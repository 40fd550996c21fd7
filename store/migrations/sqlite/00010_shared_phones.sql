-- +goose NO TRANSACTION
-- +goose Up
-- Several members may share a phone (a household's one mobile): the phone's
-- blind index is no longer unique, only indexed. SQLite cannot drop a column's
-- UNIQUE constraint, so the table is rebuilt the documented way (foreign keys
-- off, so that dropping the old table does not cascade to consent events,
-- groups or schedules), in one statement on one connection: a transaction
-- of its own that either completes or leaves the table as it was.
-- +goose StatementBegin
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE members_new (
    id             TEXT PRIMARY KEY,
    first_name     TEXT NOT NULL,
    last_name      TEXT NOT NULL DEFAULT '',
    name_key       TEXT NOT NULL, -- lower-cased "first last", for search
    phone_cipher   BLOB NOT NULL,
    phone_hash     TEXT NOT NULL, -- shared by the members of a household
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
INSERT INTO members_new (id, first_name, last_name, name_key, phone_cipher, phone_hash, email_cipher, email_hash,
    consent_status, consent_source, consent_at, consent_text, phone_invalid, created_at, updated_at)
    SELECT id, first_name, last_name, name_key, phone_cipher, phone_hash, email_cipher, email_hash,
    consent_status, consent_source, consent_at, consent_text, phone_invalid, created_at, updated_at FROM members;
DROP TABLE members;
ALTER TABLE members_new RENAME TO members;
CREATE INDEX members_name_key ON members (name_key);
CREATE INDEX members_email_hash ON members (email_hash);
CREATE INDEX members_phone_hash ON members (phone_hash);
COMMIT;
PRAGMA foreign_keys = ON;
-- +goose StatementEnd

-- +goose Down
-- Not reversible once a phone is shared; the index stays non-unique.
SELECT 1;
