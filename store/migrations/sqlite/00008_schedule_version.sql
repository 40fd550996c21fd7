-- +goose Up
-- A schedule's version: every save checks it, so an admin's edit and a
-- firing occurrence never overwrite each other. firing is the occurrence
-- being sent ('' when none): edits wait until it is done.
ALTER TABLE schedules ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE schedules ADD COLUMN firing TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE schedules DROP COLUMN firing;
ALTER TABLE schedules DROP COLUMN version;
