-- +goose Up
-- What a new church must do before it may buy a number, text anyone or
-- invite: verify its first admin's email and, with STEEPLE_SIGNUP=approval,
-- wait for an operator. One row at most; a church without the row predates
-- these checks and passes them.
CREATE TABLE church_gate (
    id                INTEGER PRIMARY KEY CHECK (id = 1),
    admin_id          TEXT NOT NULL,
    verified_at       TIMESTAMPTZ,
    awaiting_approval BOOLEAN NOT NULL DEFAULT FALSE,
    approved_at       TIMESTAMPTZ
);

-- Single-use email verification links, stored by their token's hash.
CREATE TABLE email_verifications (
    token_hash TEXT PRIMARY KEY,
    admin_id   TEXT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX email_verifications_admin ON email_verifications (admin_id);

-- +goose Down
DROP TABLE email_verifications;
DROP TABLE church_gate;
