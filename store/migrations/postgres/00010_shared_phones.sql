-- +goose Up
-- Several members may share a phone (a household's one mobile): the phone's
-- blind index is no longer unique, only indexed.
ALTER TABLE members DROP CONSTRAINT members_phone_hash_key;
CREATE INDEX members_phone_hash ON members (phone_hash);

-- +goose Down
-- Not reversible once a phone is shared; the index stays non-unique.
SELECT 1;
