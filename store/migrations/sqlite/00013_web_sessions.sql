-- +goose Up
-- The web app's language for each admin ("" until chosen: the browser's then).
ALTER TABLE admins ADD COLUMN language TEXT NOT NULL DEFAULT '';

-- Signed-in browser sessions of the web app (not the API's refresh tokens).
-- Only a hash of the secret is kept. password_mark is a hash of the admin's
-- password hash when the session began: a changed password ends the session.
CREATE TABLE web_sessions (
    id_hash       TEXT PRIMARY KEY,
    admin_id      TEXT NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    password_mark TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    last_seen_at  TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    ip            TEXT NOT NULL DEFAULT '',
    user_agent    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX web_sessions_admin ON web_sessions (admin_id);

-- +goose Down
DROP TABLE web_sessions;
ALTER TABLE admins DROP COLUMN language;
