package store

import (
	"context"
	"fmt"
)

// blindIndexes are a value's blind indexes: cur under the current key and
// prev under the previous one while a blind-index rotation is under way
// (else cur again). A lookup says `col IN ($1, $2)` with both, so a row
// the recompute pass has not reached yet is still found; a write stores
// cur.
type blindIndexes struct{ cur, prev string }

func (s *Store) indexes(purpose, value string) blindIndexes {
	hs := s.keys.BlindIndexes(purpose, value)
	return blindIndexes{cur: hs[0], prev: hs[len(hs)-1]}
}

func (s *Store) phoneIndexes(e164 string) blindIndexes { return s.indexes("phone", e164) }

func (s *Store) emailIndexes(email string) blindIndexes { return s.indexes("email", email) }

// rotating says whether rows may still carry prev.
func (b blindIndexes) rotating() bool { return b.cur != b.prev }

// has says whether a stored index is one of b.
func (b blindIndexes) has(stored string) bool { return stored == b.cur || stored == b.prev }

// in is `col IN (…)` for a query built with arg (which adds a parameter
// and returns its placeholder).
func (b blindIndexes) in(col string, arg func(any) string) string {
	return col + " IN (" + arg(b.cur) + ", " + arg(b.prev) + ")"
}

// indexColumn is a column of blind indexes and the sealed value each is
// the index of (an SQL expression on the row), so the recompute pass can
// open it and index it again.
type indexColumn struct {
	table, column, purpose string
	key                    string // the row's unique key, to walk the table in batches
	sealed                 string
	aad                    []byte
	unique                 bool // at most one row per value
}

// indexColumns are every blind index of a church's database (a test checks
// that each *_hash column of the schema is listed or is a hash of a random
// secret). Columns of one purpose index the same values: a household's
// phone is in members and in its conversation, so they move together.
var indexColumns = []indexColumn{
	{table: "admins", column: "email_hash", purpose: "email", key: "id", sealed: "email_cipher", aad: emailAAD, unique: true},
	{table: "invitations", column: "email_hash", purpose: "email", key: "id", sealed: "email_cipher", aad: invitationAAD},
	{table: "members", column: "email_hash", purpose: "email", key: "id", sealed: "email_cipher", aad: memberEmailAAD},
	{table: "members", column: "phone_hash", purpose: "phone", key: "id", sealed: "phone_cipher", aad: phoneAAD},
	{table: "conversations", column: "phone_hash", purpose: "phone", key: "id", sealed: "phone_cipher", aad: phoneAAD, unique: true},
	// A connect card waits on the phone of the member it asks the name of.
	{table: "connect_cards", column: "phone_hash", purpose: "phone", key: "phone_hash",
		sealed: "(SELECT m.phone_cipher FROM members m WHERE m.id = connect_cards.member_id)", aad: phoneAAD, unique: true},
}

// IndexColumnNames are the blind-index columns, as "table.column".
func IndexColumnNames() []string {
	out := make([]string, len(indexColumns))
	for i, c := range indexColumns {
		out[i] = c.table + "." + c.column
	}
	return out
}

// moveIndex rewrites index from to index to in every column of purpose
// and says how many rows changed. A unique column's row is left when a row
// already has to (it cannot hold both; the pass then counts it as left).
func moveIndex(ctx context.Context, q querier, purpose, from, to string) (int, error) {
	n := 0
	for _, c := range indexColumns {
		if c.purpose != purpose {
			continue
		}
		stmt := fmt.Sprintf(`UPDATE %s SET %s = $1 WHERE %[2]s = $2`, c.table, c.column)
		if c.unique {
			stmt += fmt.Sprintf(` AND NOT EXISTS (SELECT 1 FROM %s o WHERE o.%s = $1)`, c.table, c.column)
		}
		res, err := q.ExecContext(ctx, stmt, to, from)
		if err != nil {
			return n, fmt.Errorf("%s.%s: %w", c.table, c.column, err)
		}
		changed, _ := res.RowsAffected()
		n += int(changed)
	}
	return n, nil
}

// adopt moves a value's rows still indexed with the previous key to the
// current one, and returns the current index. A write calls it (in its
// transaction) before storing the current index, so the rows of one phone
// never carry two indexes that a join would not match, and a unique index
// is not taken twice. Outside a rotation it does nothing.
func (s *Store) adopt(ctx context.Context, q querier, purpose, value string) (string, error) {
	b := s.indexes(purpose, value)
	if b.rotating() {
		if _, err := moveIndex(ctx, q, purpose, b.prev, b.cur); err != nil {
			return "", err
		}
	}
	return b.cur, nil
}

func (s *Store) adoptPhone(ctx context.Context, q querier, e164 string) (string, error) {
	return s.adopt(ctx, q, "phone", e164)
}

func (s *Store) adoptEmail(ctx context.Context, q querier, email string) (string, error) {
	return s.adopt(ctx, q, "email", email)
}
