-- +goose Up
-- Text-to-join keywords (issue #16): texting one to the church's number
-- joins the sender to a group. word_key is the word folded (case, accents,
-- spaces) so that two keywords never read the same to a phone.
CREATE TABLE keywords (
    id           TEXT PRIMARY KEY,
    word         TEXT NOT NULL,
    word_key     TEXT NOT NULL UNIQUE,
    group_id     TEXT REFERENCES groups (id) ON DELETE SET NULL,
    reply        TEXT NOT NULL DEFAULT '',
    resubscribes BOOLEAN NOT NULL DEFAULT FALSE, -- a clear opt-in: brings back a phone that texted STOP
    connect_card BOOLEAN NOT NULL DEFAULT FALSE, -- asks a new sender for their name
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);

-- Who joined by which keyword, when: the keyword page's weekly counts.
CREATE TABLE keyword_joins (
    keyword_id TEXT NOT NULL REFERENCES keywords (id) ON DELETE CASCADE,
    member_id  TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    joined_at  TIMESTAMP NOT NULL
);
CREATE INDEX keyword_joins_keyword ON keyword_joins (keyword_id, joined_at);
CREATE INDEX keyword_joins_member ON keyword_joins (member_id);

-- A connect card waiting for a new member's name: their next text that is
-- not a keyword is taken as "first last".
CREATE TABLE connect_cards (
    phone_hash TEXT PRIMARY KEY,
    member_id  TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    asked_at   TIMESTAMP NOT NULL
);

-- +goose Down
DROP TABLE connect_cards;
DROP TABLE keyword_joins;
DROP TABLE keywords;
