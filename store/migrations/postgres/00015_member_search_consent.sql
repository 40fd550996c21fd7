-- +goose Up
-- Member search ignores accents ("zoe" finds "Zoë"): name_key, the indexed
-- lower-cased "first last", now also has accents removed. Earlier keys are
-- rewritten with the same letter table the code uses (store/namekey.go,
-- checked by a test); a member's key is rebuilt from the name whenever it
-- is edited.
UPDATE members SET name_key = REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(REPLACE(name_key, 'á', 'a'), 'à', 'a'), 'â', 'a'), 'ä', 'a'), 'ã', 'a'), 'å', 'a'), 'ā', 'a'), 'ą', 'a'), 'æ', 'ae'), 'ç', 'c'), 'č', 'c'), 'ć', 'c'), 'ď', 'd'), 'ð', 'd'), 'é', 'e'), 'è', 'e'), 'ê', 'e'), 'ë', 'e'), 'ē', 'e'), 'ę', 'e'), 'ě', 'e'), 'í', 'i'), 'ì', 'i'), 'î', 'i'), 'ï', 'i'), 'ī', 'i'), 'ł', 'l'), 'ñ', 'n'), 'ń', 'n'), 'ň', 'n'), 'ó', 'o'), 'ò', 'o'), 'ô', 'o'), 'ö', 'o'), 'õ', 'o'), 'ø', 'o'), 'ō', 'o'), 'ő', 'o'), 'œ', 'oe'), 'ř', 'r'), 'ś', 's'), 'š', 's'), 'ß', 'ss'), 'ť', 't'), 'þ', 'th'), 'ú', 'u'), 'ù', 'u'), 'û', 'u'), 'ü', 'u'), 'ū', 'u'), 'ů', 'u'), 'ű', 'u'), 'ý', 'y'), 'ÿ', 'y'), 'ž', 'z'), 'ź', 'z'), 'ż', 'z');

-- How consent was recorded, by whom, and the admin's note: "in_person" is
-- consent an admin recorded after asking the member face to face.
ALTER TABLE members ADD COLUMN consent_method TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN consent_by TEXT NOT NULL DEFAULT '';
ALTER TABLE members ADD COLUMN consent_note TEXT NOT NULL DEFAULT '';
ALTER TABLE consent_events ADD COLUMN method TEXT NOT NULL DEFAULT '';
ALTER TABLE consent_events ADD COLUMN recorded_by TEXT NOT NULL DEFAULT '';
ALTER TABLE consent_events ADD COLUMN note TEXT NOT NULL DEFAULT '';

-- The list filters by consent and orders by name.
CREATE INDEX members_consent_name ON members (consent_status, name_key, id);

-- +goose Down
DROP INDEX members_consent_name;
ALTER TABLE consent_events DROP COLUMN note;
ALTER TABLE consent_events DROP COLUMN recorded_by;
ALTER TABLE consent_events DROP COLUMN method;
ALTER TABLE members DROP COLUMN consent_note;
ALTER TABLE members DROP COLUMN consent_by;
ALTER TABLE members DROP COLUMN consent_method;
