-- +goose Up
-- The next due time of every active schedule of every church: the
-- scheduler's whole work list, read by due time.
CREATE TABLE schedule_due (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    schedule_id TEXT NOT NULL,
    occurrence  TEXT NOT NULL, -- which occurrence is due (its local date and time)
    due_at      BIGINT NOT NULL, -- Unix seconds
    PRIMARY KEY (tenant_id, schedule_id)
);
CREATE INDEX schedule_due_at ON schedule_due (due_at);

-- +goose Down
DROP TABLE schedule_due;
