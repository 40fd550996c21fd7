-- +goose Up
-- A tenant database belongs to one church: no table here has a tenant column.
CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE admins (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    email_cipher  BLOB NOT NULL,
    email_hash    TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'admin')),
    created_at    TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE admins;
DROP TABLE settings;
