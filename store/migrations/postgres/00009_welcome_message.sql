-- +goose Up
-- A welcome text's send job looks up whether its message is a welcome (to
-- hold it for quiet hours), by message id.
CREATE INDEX welcomes_message ON welcomes (message_id);

-- +goose Down
DROP INDEX welcomes_message;
