-- +goose Up
-- The provider's reasons when a number's 10DLC campaign assignment failed,
-- shown to the church with the number.
ALTER TABLE phone_numbers ADD COLUMN campaign_reasons TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE phone_numbers DROP COLUMN campaign_reasons;
