-- +goose Up
-- Single-use signed tokens (MFA tokens) are recorded here by their id once
-- spent, until they expire (unix seconds).
CREATE TABLE spent_tokens (
    id         TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX spent_tokens_expires ON spent_tokens (expires_at);

-- Personal data an audit entry needs (an invited or removed admin's email)
-- is kept sealed here, never in detail.
ALTER TABLE audit_log ADD COLUMN personal_cipher BYTEA;

-- Earlier entries held invited and removed admins' emails in plaintext.
-- A migration cannot seal (the keys are not in the database), so the
-- plaintext is removed; an invitation's entry still names the invitation,
-- whose email is stored sealed.
UPDATE audit_log SET detail = '' WHERE action IN ('admin.invited', 'admin.removed');

-- +goose Down
ALTER TABLE audit_log DROP COLUMN personal_cipher;
DROP TABLE spent_tokens;
