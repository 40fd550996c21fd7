-- +goose Up
-- A CSV uploaded for a two-step import (preview, then import), sealed like
-- every member's phone and email; kept for an hour, then deleted by the
-- next upload. After the import it holds the summary and the CSV of the
-- rows not imported, for download.
CREATE TABLE import_uploads (
    id           TEXT PRIMARY KEY,
    file_cipher  BLOB NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    expires_at   TIMESTAMP NOT NULL,
    imported_at  TIMESTAMP,
    summary_cipher BLOB,
    invalid_cipher BLOB
);
CREATE INDEX import_uploads_expires ON import_uploads (expires_at);

-- +goose Down
DROP TABLE import_uploads;
