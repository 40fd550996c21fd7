package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// Audience is who a broadcast goes to: everyone, some groups, or some members.
type Audience struct {
	All       bool     `json:"all,omitempty"`
	GroupIDs  []string `json:"group_ids,omitempty"`
	MemberIDs []string `json:"member_ids,omitempty"`
}

// Recipient is a member a broadcast may go to.
type Recipient struct {
	MemberID, FirstName, Phone string
}

// AudienceMembers resolves an audience to the members who may be texted now
// (opted in, phone not rejected). Errors: ENOTFOUND naming an unknown group
// or member (another church's ids are unknown here).
func (s *Store) AudienceMembers(ctx context.Context, h *tenancy.Handle, a Audience) ([]Recipient, error) {
	rs, _, err := s.AudienceReach(ctx, h, a)
	return rs, err
}

// AudienceLeftOut counts the members an audience names who may not be
// texted now, by why.
type AudienceLeftOut struct {
	// OptedOut have withdrawn consent.
	OptedOut int
	// PhoneRejected have a phone the provider refused as not textable.
	PhoneRejected int
}

// AudienceReach is AudienceMembers with the members left out counted, from
// the same single query. Errors as AudienceMembers.
func (s *Store) AudienceReach(ctx context.Context, h *tenancy.Handle, a Audience) ([]Recipient, AudienceLeftOut, error) {
	var left AudienceLeftOut
	var where string
	var args []any
	marks := func(ids []string) string {
		m := make([]string, len(ids))
		for i, id := range ids {
			args = append(args, id)
			m[i] = "$" + strconv.Itoa(len(args))
		}
		return strings.Join(m, ", ")
	}
	switch {
	case a.All:
		where = "1=1"
	case len(a.GroupIDs) > 0:
		for _, id := range a.GroupIDs {
			if err := s.mustExist(ctx, h, "groups", id, "group "+id); err != nil {
				return nil, left, err
			}
		}
		where = "id IN (SELECT member_id FROM group_members WHERE group_id IN (" + marks(a.GroupIDs) + "))"
	default:
		for _, id := range a.MemberIDs {
			if err := s.mustExist(ctx, h, "members", id, "member "+id); err != nil {
				return nil, left, err
			}
		}
		where = "id IN (" + marks(a.MemberIDs) + ")"
	}
	// Sorted here rather than by ORDER BY id: on SQLite the members' text
	// primary key is a separate index, and reading the table through it
	// costs a lookup per member (most of a 10,000-member preview).
	rows, err := h.QueryContext(ctx, `SELECT id, first_name, phone_cipher, consent_status = 'opted_in', phone_invalid
		FROM members WHERE `+where, args...)
	if err != nil {
		return nil, left, err
	}
	defer rows.Close()
	var out []Recipient
	for rows.Next() {
		var r Recipient
		var phone []byte
		var optedIn, invalid bool
		if err := rows.Scan(&r.MemberID, &r.FirstName, &phone, &optedIn, &invalid); err != nil {
			return nil, left, err
		}
		switch {
		case !optedIn:
			left.OptedOut++
			continue
		case invalid:
			left.PhoneRejected++
			continue
		}
		p, err := s.keys.Open(phone, phoneAAD)
		if err != nil {
			return nil, left, err
		}
		r.Phone = string(p)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, left, err
	}
	slices.SortFunc(out, func(a, b Recipient) int { return strings.Compare(a.MemberID, b.MemberID) })
	return out, left, nil
}

func (s *Store) mustExist(ctx context.Context, h *tenancy.Handle, table, id, what string) error {
	if !steeple.ValidID(id) {
		return steeple.Errorf(steeple.ENOTFOUND, "%s not found", what)
	}
	var one int
	return translate(h.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE id = $1`, id).Scan(&one), what)
}

// Broadcast is a message to many members and where each recipient stands.
type Broadcast struct {
	ID                 string                          `json:"id"`
	Text               string                          `json:"text"`
	MediaURLs          []string                        `json:"media_urls"`
	Audience           Audience                        `json:"audience"`
	From               string                          `json:"from"`
	Encoding           string                          `json:"encoding"`
	SegmentsPerMessage int                             `json:"segments_per_message"`
	Recipients         int                             `json:"recipients"`
	Chunks             int                             `json:"-"`
	CreatedBy          string                          `json:"created_by"`
	CreatedAt          time.Time                       `json:"created_at"`
	Dispatched         bool                            `json:"dispatched"`
	Counts             map[steeple.RecipientStatus]int `json:"counts"`
	// DeliveryRate is delivered / (sent + delivered + failed): of the texts
	// that left, the share confirmed delivered (null before any left).
	DeliveryRate *float64 `json:"delivery_rate"`
	// Timezone and CreatedAtLocal give created_at on the church's clock.
	Timezone       string `json:"timezone,omitempty"`
	CreatedAtLocal string `json:"created_at_local,omitempty"`
	// StoppedAt and StoppedBy (an admin id) say when a broadcast was stopped.
	StoppedAt *time.Time `json:"stopped_at,omitempty"`
	StoppedBy string     `json:"stopped_by,omitempty"`
	// Excluded counts, in the answer to its creation only, the chosen
	// members left out and why (a shared phone, a phone outside the region).
	Excluded map[string]int `json:"excluded,omitempty"`
}

// OutgoingRecipient is one rendered message of a broadcast.
type OutgoingRecipient struct {
	Recipient
	Body  string
	Chunk int
}

// ChunkSize is how many recipients one send job covers.
const ChunkSize = 100

// CreateBroadcast commits a broadcast, its rendered recipients and the
// segments it will use, in one transaction, after checking the monthly
// quota (0 = none). Errors: EFORBIDDEN when the quota would be exceeded.
func (s *Store) CreateBroadcast(ctx context.Context, h *tenancy.Handle, b *Broadcast, rs []OutgoingRecipient, segments, quota int) error {
	now := s.Now()
	b.CreatedAt = now
	month := quotaMonth(h, now)
	media, _ := json.Marshal(b.MediaURLs)
	audience, _ := json.Marshal(b.Audience)
	return h.InTx(ctx, func(tx *sql.Tx) error {
		// Check and add in one statement, so concurrent broadcasts cannot
		// all pass a check made before any of them added its segments.
		limit := int64(quota)
		if quota <= 0 {
			limit = math.MaxInt64 / 2
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO segment_usage (month, segments) VALUES ($1, 0) ON CONFLICT (month) DO NOTHING`, month); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE segment_usage SET segments = segments + $1 WHERE month = $2 AND segments + $1 <= $3`,
			segments, month, limit)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			var used int
			if err := tx.QueryRowContext(ctx, `SELECT segments FROM segment_usage WHERE month = $1`, month).Scan(&used); err != nil {
				return err
			}
			return steeple.Errorf(steeple.EFORBIDDEN, "this broadcast needs %d segments but only %d of the plan's %d remain this month",
				segments, max(quota-used, 0), quota)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO messages (id, body, media_urls, audience, from_number, encoding,
			segments_per_message, recipients, chunks, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			b.ID, b.Text, string(media), string(audience), b.From, b.Encoding, b.SegmentsPerMessage, b.Recipients, b.Chunks,
			b.CreatedBy, now); err != nil {
			return err
		}
		return s.insertRecipients(ctx, tx, b.ID, rs, now)
	})
}

// AddSegments counts segments sent outside a broadcast (a test text)
// against the month's quota (0 = none), in one check-and-add statement.
// Errors: EFORBIDDEN when the quota would be exceeded.
func (s *Store) AddSegments(ctx context.Context, h *tenancy.Handle, segments, quota int) error {
	month := s.Now().Format("2006-01")
	limit := int64(quota)
	if quota <= 0 {
		limit = math.MaxInt64 / 2
	}
	return h.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO segment_usage (month, segments) VALUES ($1, 0) ON CONFLICT (month) DO NOTHING`, month); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE segment_usage SET segments = segments + $1 WHERE month = $2 AND segments + $1 <= $3`,
			segments, month, limit)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return steeple.Errorf(steeple.EFORBIDDEN, "this month's %d segments are used up", quota)
		}
		return nil
	})
}

// insertRecipients writes recipients in multi-row statements: one round
// trip per 500 rows rather than per row.
func (s *Store) insertRecipients(ctx context.Context, tx *sql.Tx, messageID string, rs []OutgoingRecipient, now time.Time) error {
	const perStatement = 500
	for start := 0; start < len(rs); start += perStatement {
		batch := rs[start:min(start+perStatement, len(rs))]
		var sb strings.Builder
		sb.WriteString(`INSERT INTO message_recipients (message_id, member_id, chunk, phone_cipher, body, status, updated_at) VALUES `)
		args := make([]any, 0, len(batch)*5+2)
		args = append(args, messageID, now)
		for i, r := range batch {
			if i > 0 {
				sb.WriteString(", ")
			}
			n := len(args)
			sb.WriteString("($1, $" + strconv.Itoa(n+1) + ", $" + strconv.Itoa(n+2) + ", $" + strconv.Itoa(n+3) +
				", $" + strconv.Itoa(n+4) + ", 'queued', $2)")
			args = append(args, r.MemberID, r.Chunk, s.keys.Seal([]byte(r.Phone), phoneAAD), r.Body)
		}
		if _, err := tx.ExecContext(ctx, sb.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// MarkDispatched records that the broadcast's jobs exist.
func (s *Store) MarkDispatched(ctx context.Context, h *tenancy.Handle, id string) error {
	_, err := h.ExecContext(ctx, `UPDATE messages SET dispatched_at = $1 WHERE id = $2 AND dispatched_at IS NULL`, s.Now(), id)
	return err
}

const broadcastColumns = `id, body, media_urls, audience, from_number, encoding, segments_per_message, recipients, chunks,
	created_by, created_at, dispatched_at, cancelled_at, cancelled_by`

func scanBroadcast(row interface{ Scan(...any) error }) (*Broadcast, error) {
	var b Broadcast
	var media, audience string
	var dispatched, stopped sql.NullTime
	if err := row.Scan(&b.ID, &b.Text, &media, &audience, &b.From, &b.Encoding, &b.SegmentsPerMessage, &b.Recipients,
		&b.Chunks, &b.CreatedBy, &b.CreatedAt, &dispatched, &stopped, &b.StoppedBy); err != nil {
		return nil, err
	}
	if stopped.Valid {
		t := stopped.Time.UTC()
		b.StoppedAt = &t
	}
	_ = json.Unmarshal([]byte(media), &b.MediaURLs)
	_ = json.Unmarshal([]byte(audience), &b.Audience)
	b.CreatedAt, b.Dispatched = b.CreatedAt.UTC(), dispatched.Valid
	return &b, nil
}

// Broadcast returns a broadcast with its counts by status. Errors: ENOTFOUND.
func (s *Store) Broadcast(ctx context.Context, h *tenancy.Handle, id string) (*Broadcast, error) {
	if !steeple.ValidID(id) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "message not found")
	}
	b, err := scanBroadcast(h.QueryRowContext(ctx, `SELECT `+broadcastColumns+` FROM messages WHERE id = $1`, id))
	if err != nil {
		return nil, translate(err, "message")
	}
	if err := s.fillCounts(ctx, h, []*Broadcast{b}); err != nil {
		return nil, err
	}
	return b, nil
}

// fillCounts sets each broadcast's counts by status and delivery rate, in
// one query for the whole page.
func (s *Store) fillCounts(ctx context.Context, h *tenancy.Handle, bs []*Broadcast) error {
	if len(bs) == 0 {
		return nil
	}
	byID := make(map[string]*Broadcast, len(bs))
	args := make([]any, 0, len(bs))
	marks := make([]string, 0, len(bs))
	for _, b := range bs {
		b.Counts = make(map[steeple.RecipientStatus]int, 6)
		for _, st := range steeple.RecipientStatuses() {
			b.Counts[st] = 0
		}
		byID[b.ID] = b
		args = append(args, b.ID)
		marks = append(marks, "$"+strconv.Itoa(len(args)))
	}
	rows, err := h.QueryContext(ctx, `SELECT message_id, status, COUNT(*) FROM message_recipients
		WHERE message_id IN (`+strings.Join(marks, ", ")+`) GROUP BY message_id, status`, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var st steeple.RecipientStatus
		var n int
		if err := rows.Scan(&id, &st, &n); err != nil {
			return err
		}
		byID[id].Counts[st] = n
	}
	for _, b := range bs {
		c := b.Counts
		if left := c[steeple.RecipientSent] + c[steeple.RecipientDelivered] + c[steeple.RecipientFailed]; left > 0 {
			r := math.Round(float64(c[steeple.RecipientDelivered])/float64(left)*1000) / 1000
			b.DeliveryRate = &r
		}
	}
	return rows.Err()
}

// Broadcasts lists broadcasts, newest first, before the cursor (an id).
func (s *Store) Broadcasts(ctx context.Context, h *tenancy.Handle, limit int) ([]*Broadcast, error) {
	rows, err := h.QueryContext(ctx, `SELECT `+broadcastColumns+` FROM messages ORDER BY created_at DESC, id LIMIT $1`, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*Broadcast{}
	for rows.Next() {
		b, err := scanBroadcast(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rows.Close() // one connection at a time: SQLite handles may hold just one
	return out, s.fillCounts(ctx, h, out)
}
