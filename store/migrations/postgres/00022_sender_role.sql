-- +goose Up
-- A third role, sender (issue #16): writes, sends and answers the inbox but
-- does not manage the church.
ALTER TABLE admins DROP CONSTRAINT admins_role_check;
ALTER TABLE admins ADD CONSTRAINT admins_role_check CHECK (role IN ('owner', 'admin', 'sender'));
ALTER TABLE invitations DROP CONSTRAINT invitations_role_check;
ALTER TABLE invitations ADD CONSTRAINT invitations_role_check CHECK (role IN ('owner', 'admin', 'sender'));

-- +goose Down
-- Senders would have no role to fall back to; the wider check stays.
SELECT 1;
