package store

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// KeywordInput is a keyword's editable fields, validated by the caller;
// Key is the word's folded form (unique in the church).
type KeywordInput struct {
	Word, Key, GroupID, Reply string
	Resubscribes, ConnectCard bool
}

const keywordColumns = `k.id, k.word, COALESCE(k.group_id, ''), COALESCE(g.name, ''), k.reply, k.resubscribes, k.connect_card,
	k.created_at, k.updated_at, (SELECT COUNT(*) FROM keyword_joins j WHERE j.keyword_id = k.id)`

const keywordFrom = ` FROM keywords k LEFT JOIN groups g ON g.id = k.group_id`

func scanKeyword(row interface{ Scan(...any) error }) (*steeple.Keyword, error) {
	var k steeple.Keyword
	if err := row.Scan(&k.ID, &k.Word, &k.GroupID, &k.GroupName, &k.Reply, &k.Resubscribes, &k.ConnectCard,
		&k.CreatedAt, &k.UpdatedAt, &k.Joins); err != nil {
		return nil, err
	}
	k.CreatedAt, k.UpdatedAt = k.CreatedAt.UTC(), k.UpdatedAt.UTC()
	return &k, nil
}

// CreateKeyword adds a keyword. Errors: ECONFLICT for a word already used
// (as folded), ENOTFOUND for a group not in the church.
func (s *Store) CreateKeyword(ctx context.Context, h *tenancy.Handle, in KeywordInput) (*steeple.Keyword, error) {
	now := s.Now()
	id := steeple.NewID()
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		if err := groupExists(ctx, tx, in.GroupID); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO keywords (id, word, word_key, group_id, reply, resubscribes, connect_card,
			created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)`,
			id, in.Word, in.Key, nullIfEmpty(in.GroupID), in.Reply, in.Resubscribes, in.ConnectCard, now)
		return translate(err, "the keyword "+strconv.Quote(in.Word))
	})
	if err != nil {
		return nil, err
	}
	return s.Keyword(ctx, h, id)
}

// UpdateKeyword replaces a keyword's fields. Errors: ENOTFOUND, ECONFLICT.
func (s *Store) UpdateKeyword(ctx context.Context, h *tenancy.Handle, id string, in KeywordInput) (*steeple.Keyword, error) {
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		if err := groupExists(ctx, tx, in.GroupID); err != nil {
			return err
		}
		r, err := tx.ExecContext(ctx, `UPDATE keywords SET word = $1, word_key = $2, group_id = $3, reply = $4, resubscribes = $5,
			connect_card = $6, updated_at = $7 WHERE id = $8`,
			in.Word, in.Key, nullIfEmpty(in.GroupID), in.Reply, in.Resubscribes, in.ConnectCard, s.Now(), id)
		if err != nil {
			return translate(err, "the keyword "+strconv.Quote(in.Word))
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return steeple.Errorf(steeple.ENOTFOUND, "keyword not found")
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s.Keyword(ctx, h, id)
}

// groupExists refuses a group id that is not one of the church's ("" is none).
func groupExists(ctx context.Context, tx *sql.Tx, id string) error {
	if id == "" {
		return nil
	}
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM groups WHERE id = $1`, id).Scan(&one); err != nil {
		return translate(err, "group")
	}
	return nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// DeleteKeyword removes a keyword and its join history (the members stay).
// Errors: ENOTFOUND.
func (s *Store) DeleteKeyword(ctx context.Context, h *tenancy.Handle, id string) (*steeple.Keyword, error) {
	k, err := s.Keyword(ctx, h, id)
	if err != nil {
		return nil, err
	}
	if _, err := h.ExecContext(ctx, `DELETE FROM keywords WHERE id = $1`, id); err != nil {
		return nil, err
	}
	return k, nil
}

// Keyword returns one keyword. Errors: ENOTFOUND.
func (s *Store) Keyword(ctx context.Context, h *tenancy.Handle, id string) (*steeple.Keyword, error) {
	k, err := scanKeyword(h.QueryRowContext(ctx, `SELECT `+keywordColumns+keywordFrom+` WHERE k.id = $1`, id))
	if err != nil {
		return nil, translate(err, "keyword")
	}
	return k, nil
}

// KeywordByKey finds the keyword whose folded word is key. Errors: ENOTFOUND.
func (s *Store) KeywordByKey(ctx context.Context, h *tenancy.Handle, key string) (*steeple.Keyword, error) {
	k, err := scanKeyword(h.QueryRowContext(ctx, `SELECT `+keywordColumns+keywordFrom+` WHERE k.word_key = $1`, key))
	if err != nil {
		return nil, translate(err, "keyword")
	}
	return k, nil
}

// Keywords lists the church's keywords by word.
func (s *Store) Keywords(ctx context.Context, h *tenancy.Handle) ([]*steeple.Keyword, error) {
	rows, err := h.QueryContext(ctx, `SELECT `+keywordColumns+keywordFrom+` ORDER BY k.word_key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*steeple.Keyword{}
	for rows.Next() {
		k, err := scanKeyword(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	return out, rows.Err()
}

// KeywordMember is one member who joined by a keyword.
type KeywordMember struct {
	MemberID  string    `json:"member_id"`
	FirstName string    `json:"first_name"`
	LastName  string    `json:"last_name"`
	JoinedAt  time.Time `json:"joined_at"`
}

// KeywordJoinTimes returns when each join by the keyword since since happened.
func (s *Store) KeywordJoinTimes(ctx context.Context, h *tenancy.Handle, id string, since time.Time) ([]time.Time, error) {
	rows, err := h.QueryContext(ctx, `SELECT joined_at FROM keyword_joins WHERE keyword_id = $1 AND joined_at >= $2`, id, since)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []time.Time
	for rows.Next() {
		var at time.Time
		if err := rows.Scan(&at); err != nil {
			return nil, err
		}
		out = append(out, at.UTC())
	}
	return out, rows.Err()
}

// LatestKeywordJoins lists the newest joins by the keyword, newest first.
func (s *Store) LatestKeywordJoins(ctx context.Context, h *tenancy.Handle, id string, limit int) ([]KeywordMember, error) {
	rows, err := h.QueryContext(ctx, `SELECT m.id, m.first_name, m.last_name, j.joined_at FROM keyword_joins j
		JOIN members m ON m.id = j.member_id WHERE j.keyword_id = $1 ORDER BY j.joined_at DESC, m.id LIMIT $2`, id, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []KeywordMember{}
	for rows.Next() {
		var j KeywordMember
		if err := rows.Scan(&j.MemberID, &j.FirstName, &j.LastName, &j.JoinedAt); err != nil {
			return nil, err
		}
		j.JoinedAt = j.JoinedAt.UTC()
		out = append(out, j)
	}
	return out, rows.Err()
}
