-- +goose Up
-- Stop sending (issue #15): a stopped broadcast keeps who stopped it and
-- when; handed_at marks the recipient whose text is being handed to the
-- provider right now, so a stop skips everyone else and waits only for those.
ALTER TABLE messages ADD COLUMN cancelled_at TIMESTAMP;
ALTER TABLE messages ADD COLUMN cancelled_by TEXT NOT NULL DEFAULT '';
-- An admin's own phone (sealed like members' phones), for "send a test to me".
ALTER TABLE admins ADD COLUMN phone_cipher BLOB;
ALTER TABLE message_recipients ADD COLUMN handed_at TIMESTAMP;

-- +goose Down
ALTER TABLE admins DROP COLUMN phone_cipher;
ALTER TABLE message_recipients DROP COLUMN handed_at;
ALTER TABLE messages DROP COLUMN cancelled_by;
ALTER TABLE messages DROP COLUMN cancelled_at;
