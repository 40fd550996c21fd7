-- +goose Up
-- The process that last claimed a number's send time (its
-- STEEPLE_PROCESS_URL, '' when it has none): a member's text that arrives
-- at another process is handed to it, which holds the church's connection
-- while it sends (webhooks/handover.go).
ALTER TABLE send_pacing ADD COLUMN sender TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE send_pacing DROP COLUMN sender;
