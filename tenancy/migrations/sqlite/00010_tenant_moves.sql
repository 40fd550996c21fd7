-- +goose Up
-- Moves between servers exist on PostgreSQL only (a SQLite church is a file
-- on this machine); the table is kept so both registries have the same
-- schema version. SQLite's status CHECK is left as it is: no church there
-- ever becomes 'moving'.
CREATE TABLE tenant_moves (
    tenant_id     TEXT PRIMARY KEY REFERENCES tenants (id),
    from_server   TEXT NOT NULL,
    from_database TEXT NOT NULL,
    to_server     TEXT NOT NULL,
    to_database   TEXT NOT NULL,
    prior_status  TEXT NOT NULL,
    step          TEXT NOT NULL,
    started_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);

-- +goose Down
DROP TABLE tenant_moves;
