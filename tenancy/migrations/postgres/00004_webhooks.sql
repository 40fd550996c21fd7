-- +goose Up
-- The outbox also carries conversation replies, not only broadcasts.
ALTER TABLE dispatch_intents ADD COLUMN kind TEXT NOT NULL DEFAULT 'broadcast';
-- Webhook event ids are kept a few days for de-duplication, then pruned.
CREATE INDEX webhook_events_received ON webhook_events (received_at);

-- +goose Down
DROP INDEX webhook_events_received;
ALTER TABLE dispatch_intents DROP COLUMN kind;
