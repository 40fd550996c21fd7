-- +goose Up
-- A number whose 10DLC campaign assignment failed is tried again with
-- backoff: how many tries failed, and when the next may be made (Unix
-- seconds; NULL: at once).
ALTER TABLE phone_numbers ADD COLUMN campaign_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE phone_numbers ADD COLUMN campaign_retry_at BIGINT;

-- +goose Down
ALTER TABLE phone_numbers DROP COLUMN campaign_retry_at;
ALTER TABLE phone_numbers DROP COLUMN campaign_attempts;
