-- +goose NO TRANSACTION
-- +goose Up
-- A third role, sender (issue #16): writes, sends and answers the inbox but
-- does not manage the church. SQLite cannot change a CHECK constraint, so
-- admins and invitations are rebuilt the documented way, as in 00010:
-- foreign keys off (dropping admins must not cascade to sessions), one
-- transaction on one connection that completes or leaves both as they were.
-- +goose StatementBegin
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE admins_new (
    id                  TEXT PRIMARY KEY,
    name                TEXT NOT NULL,
    email_cipher        BLOB NOT NULL,
    email_hash          TEXT NOT NULL UNIQUE,
    password_hash       TEXT NOT NULL,
    role                TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'sender')),
    created_at          TIMESTAMP NOT NULL,
    mfa_enabled         BOOLEAN NOT NULL DEFAULT FALSE,
    totp_cipher         BLOB,
    totp_pending_cipher BLOB,
    totp_last_step      BIGINT NOT NULL DEFAULT 0,
    language            TEXT NOT NULL DEFAULT '',
    phone_cipher        BLOB
);
INSERT INTO admins_new (id, name, email_cipher, email_hash, password_hash, role, created_at,
    mfa_enabled, totp_cipher, totp_pending_cipher, totp_last_step, language, phone_cipher)
    SELECT id, name, email_cipher, email_hash, password_hash, role, created_at,
    mfa_enabled, totp_cipher, totp_pending_cipher, totp_last_step, language, phone_cipher FROM admins;
DROP TABLE admins;
ALTER TABLE admins_new RENAME TO admins;
CREATE TABLE invitations_new (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    email_cipher BLOB NOT NULL,
    email_hash   TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'sender')),
    invited_by   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    accepted_at  TIMESTAMP
);
INSERT INTO invitations_new (id, token_hash, email_cipher, email_hash, role, invited_by, created_at, expires_at, accepted_at)
    SELECT id, token_hash, email_cipher, email_hash, role, invited_by, created_at, expires_at, accepted_at FROM invitations;
DROP TABLE invitations;
ALTER TABLE invitations_new RENAME TO invitations;
COMMIT;
PRAGMA foreign_keys = ON;
-- +goose StatementEnd

-- +goose Down
-- Senders would have no role to fall back to; the wider check stays.
SELECT 1;
