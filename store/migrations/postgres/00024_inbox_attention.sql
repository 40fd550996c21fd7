-- +goose Up
-- The inbox (issue #16). A conversation opens when the contact texts the
-- church: last_inbound_us is when they last did (0: never, so a thread
-- holding only texts the church sent, such as a welcome text, stays out of
-- the inbox). clarified: the one "Reply STOP to stop" text was sent for the
-- current flag. assignee_id: the admin looking after it (no foreign key:
-- removing an admin clears it, and SQLite could not drop such a column).
ALTER TABLE conversations ADD COLUMN last_inbound_us BIGINT NOT NULL DEFAULT 0;
ALTER TABLE conversations ADD COLUMN clarified BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE conversations ADD COLUMN assignee_id TEXT;
-- needs_reply: the contact's newest text (not a keyword the system
-- answered) has had no admin's reply yet.
ALTER TABLE conversations ADD COLUMN needs_reply BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE conversations SET needs_reply = (last_direction = 'inbound');
UPDATE conversations SET last_inbound_us = COALESCE((SELECT MAX(cm.created_us) FROM conversation_messages cm
    WHERE cm.conversation_id = conversations.id AND cm.direction = 'inbound'), 0);
CREATE INDEX conversations_inbound ON conversations (last_inbound_us);
-- A thread shows the broadcasts its phone's members were sent.
CREATE INDEX message_recipients_member ON message_recipients (member_id);
-- Each admin's email about new replies: off, immediate or hourly; notified_us
-- is the newest reply an hourly digest has covered.
ALTER TABLE admins ADD COLUMN reply_notifications TEXT NOT NULL DEFAULT 'off';
ALTER TABLE admins ADD COLUMN notified_us BIGINT NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE admins DROP COLUMN notified_us;
ALTER TABLE admins DROP COLUMN reply_notifications;
DROP INDEX message_recipients_member;
DROP INDEX conversations_inbound;
ALTER TABLE conversations DROP COLUMN needs_reply;
ALTER TABLE conversations DROP COLUMN assignee_id;
ALTER TABLE conversations DROP COLUMN clarified;
ALTER TABLE conversations DROP COLUMN last_inbound_us;
