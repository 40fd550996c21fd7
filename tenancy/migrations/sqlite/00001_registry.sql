-- +goose Up
-- PostgreSQL servers that hold tenant databases. The URL itself (with its
-- credentials) stays in configuration; the registry keeps only its reference.
CREATE TABLE db_servers (
    ref        TEXT PRIMARY KEY,
    state      TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'draining')),
    created_at TIMESTAMP NOT NULL
);

CREATE TABLE tenants (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    slug           TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('provisioning', 'active', 'suspended', 'deleting', 'deleted')),
    timezone       TEXT NOT NULL,
    backend        TEXT NOT NULL CHECK (backend IN ('sqlite', 'postgres')),
    server_ref     TEXT REFERENCES db_servers (ref),
    database_name  TEXT NOT NULL,
    schema_version BIGINT NOT NULL DEFAULT 0,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
-- A name is free again once its church is deleted.
CREATE UNIQUE INDEX tenants_slug_live ON tenants (slug) WHERE status <> 'deleted';
CREATE INDEX tenants_schema_version ON tenants (schema_version);
CREATE INDEX tenants_server_ref ON tenants (server_ref);

-- Indexes later features fill; each maps an outside key to exactly one tenant.
CREATE TABLE phone_numbers (
    e164       TEXT PRIMARY KEY,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX phone_numbers_tenant ON phone_numbers (tenant_id);

-- One email may be an admin at several churches: the key is (hash, tenant, admin).
CREATE TABLE login_index (
    email_hash TEXT NOT NULL,
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    admin_id   TEXT NOT NULL,
    PRIMARY KEY (email_hash, tenant_id, admin_id)
);

CREATE TABLE provider_objects (
    kind        TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    PRIMARY KEY (kind, provider_id)
);

CREATE TABLE webhook_events (
    event_id    TEXT PRIMARY KEY,
    received_at TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE webhook_events;
DROP TABLE provider_objects;
DROP TABLE login_index;
DROP TABLE phone_numbers;
DROP TABLE tenants;
DROP TABLE db_servers;
