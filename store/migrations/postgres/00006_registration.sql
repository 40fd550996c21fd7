-- +goose Up
-- The church's 10DLC registration: the brand's details (the EIN sealed),
-- where it stands with the provider, and the provider's reasons when a
-- step failed. One row per church.
CREATE TABLE registration (
    id            INTEGER PRIMARY KEY CHECK (id = 1),
    legal_name    TEXT NOT NULL,
    ein_cipher    BYTEA NOT NULL,
    ein_last4     TEXT NOT NULL,
    street        TEXT NOT NULL,
    city          TEXT NOT NULL,
    state         TEXT NOT NULL,
    postal_code   TEXT NOT NULL,
    website       TEXT NOT NULL DEFAULT '',
    contact_email TEXT NOT NULL,
    contact_phone TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('brand_pending', 'brand_failed', 'campaign_pending', 'campaign_rejected', 'provisioned')),
    brand_id      TEXT NOT NULL DEFAULT '',
    campaign_id   TEXT NOT NULL DEFAULT '',
    reasons       TEXT NOT NULL DEFAULT '[]', -- JSON array of the provider's reasons
    submitted_at  TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);

-- Texts sent per UTC day, for the daily cap of a church not yet registered.
CREATE TABLE daily_sends (
    day  TEXT PRIMARY KEY, -- YYYY-MM-DD
    sent BIGINT NOT NULL
);

-- +goose Down
DROP TABLE daily_sends;
DROP TABLE registration;
