-- +goose Up
-- A number's pace is kept in the memory of the process sending from it,
-- under a lease on its row (tenancy/pacing_lease.go): holder is the
-- process, until_us the lease's end, wanted_us when another process last
-- asked for it (the holder then lets it lapse).
ALTER TABLE send_pacing ADD COLUMN holder TEXT NOT NULL DEFAULT '';
ALTER TABLE send_pacing ADD COLUMN until_us BIGINT NOT NULL DEFAULT 0;
ALTER TABLE send_pacing ADD COLUMN wanted_us BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE send_pacing DROP COLUMN wanted_us;
ALTER TABLE send_pacing DROP COLUMN until_us;
ALTER TABLE send_pacing DROP COLUMN holder;
