-- +goose Up
ALTER TABLE admins ADD COLUMN mfa_enabled BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE admins ADD COLUMN totp_cipher BLOB;
ALTER TABLE admins ADD COLUMN totp_pending_cipher BLOB;
-- The last TOTP time step accepted: a code is good once.
ALTER TABLE admins ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;

-- Refresh tokens are stored hashed; each use marks the token used and issues
-- the next one in the same family. Presenting a used token revokes the family.
CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,
    family_id  TEXT NOT NULL,
    admin_id   TEXT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at    TIMESTAMP,
    revoked_at TIMESTAMP
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_admin ON refresh_tokens (admin_id);

CREATE TABLE recovery_codes (
    code_hash TEXT PRIMARY KEY,
    admin_id  TEXT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    used_at   TIMESTAMP
);
CREATE INDEX recovery_codes_admin ON recovery_codes (admin_id);

CREATE TABLE invitations (
    id           TEXT PRIMARY KEY,
    token_hash   TEXT NOT NULL UNIQUE,
    email_cipher BLOB NOT NULL,
    email_hash   TEXT NOT NULL,
    role         TEXT NOT NULL CHECK (role IN ('owner', 'admin')),
    invited_by   TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    accepted_at  TIMESTAMP
);

CREATE TABLE audit_log (
    seq      INTEGER PRIMARY KEY AUTOINCREMENT,
    at       TIMESTAMP NOT NULL,
    actor_id TEXT,
    action   TEXT NOT NULL,
    target   TEXT NOT NULL DEFAULT '',
    ip       TEXT NOT NULL DEFAULT '',
    detail   TEXT NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE invitations;
DROP TABLE recovery_codes;
DROP TABLE refresh_tokens;
ALTER TABLE admins DROP COLUMN totp_last_step;
ALTER TABLE admins DROP COLUMN totp_pending_cipher;
ALTER TABLE admins DROP COLUMN totp_cipher;
ALTER TABLE admins DROP COLUMN mfa_enabled;
