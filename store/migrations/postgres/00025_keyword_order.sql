-- +goose Up
-- keyword_us: when the provider received the newest STOP or START (or
-- resubscribing join keyword) of the conversation's phone whose consent
-- change was applied (microseconds; 0: none known). A member's texts can
-- be applied out of order (one applied on arrival, an earlier one from the
-- queue); an older keyword then changes no consent.
ALTER TABLE conversations ADD COLUMN keyword_us BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE conversations DROP COLUMN keyword_us;
