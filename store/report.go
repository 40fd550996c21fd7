package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/steeple-sms/steeple/tenancy"
)

// WeekActivity is what a church's texts did in one week.
type WeekActivity struct {
	// Start is the week's first instant (midnight in the church's timezone).
	Start time.Time
	// Texts are broadcast texts handed to the provider in the week; Parts
	// are their billed parts.
	Texts, Parts int
	// Delivered and Failed are how those texts ended (so far).
	Delivered, Failed int
	// OptOuts are members who opted out in the week.
	OptOuts int
	// Replies are texts members sent in (keywords such as STOP excluded).
	Replies int
}

// WeeklyActivity aggregates the weeks between consecutive bounds (ascending
// instants; len(bounds)-1 weeks) in SQL: three grouped queries whatever the
// number of texts, each over an index on its time column.
func (s *Store) WeeklyActivity(ctx context.Context, h *tenancy.Handle, bounds []time.Time) ([]WeekActivity, error) {
	n := len(bounds) - 1
	if n < 1 {
		return nil, fmt.Errorf("store: WeeklyActivity needs at least two bounds")
	}
	out := make([]WeekActivity, n)
	for i := range out {
		out[i].Start = bounds[i]
	}
	// bucket is "CASE WHEN col < $2 THEN 0 WHEN col < $3 THEN 1 … END", the
	// week index; the WHERE clause keeps col within [$1, $n+1).
	bucket := func(col string) string {
		var b strings.Builder
		b.WriteString("CASE")
		for i := 1; i <= n; i++ {
			fmt.Fprintf(&b, " WHEN %s < $%d THEN %d", col, i+1, i-1)
		}
		b.WriteString(" END")
		return b.String()
	}
	times := make([]any, len(bounds))
	micros := make([]any, len(bounds))
	for i, t := range bounds {
		times[i], micros[i] = t.UTC(), t.UnixMicro()
	}
	last := fmt.Sprintf("$%d", len(bounds))
	scan := func(q string, args []any, into func(w *WeekActivity, a, b, c, d int64)) error {
		rows, err := h.QueryContext(ctx, q, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var wk int
			var a, b, c, d int64
			if err := rows.Scan(&wk, &a, &b, &c, &d); err != nil {
				return err
			}
			if wk >= 0 && wk < n {
				into(&out[wk], a, b, c, d)
			}
		}
		return rows.Err()
	}
	err := scan(`SELECT `+bucket("r.sent_at")+` AS wk, COUNT(*),
			COALESCE(SUM(m.segments_per_message), 0),
			COALESCE(SUM(CASE WHEN r.status = 'delivered' THEN 1 ELSE 0 END), 0),
			COALESCE(SUM(CASE WHEN r.status = 'failed' THEN 1 ELSE 0 END), 0)
		FROM message_recipients r JOIN messages m ON m.id = r.message_id
		WHERE r.sent_at >= $1 AND r.sent_at < `+last+` GROUP BY wk`, times,
		func(w *WeekActivity, a, b, c, d int64) {
			w.Texts, w.Parts, w.Delivered, w.Failed = int(a), int(b), int(c), int(d)
		})
	if err != nil {
		return nil, err
	}
	err = scan(`SELECT `+bucket("at")+` AS wk, COUNT(*), 0, 0, 0 FROM consent_events
		WHERE status = 'opted_out' AND at >= $1 AND at < `+last+` GROUP BY wk`, times,
		func(w *WeekActivity, a, _, _, _ int64) { w.OptOuts = int(a) })
	if err != nil {
		return nil, err
	}
	err = scan(`SELECT `+bucket("created_us")+` AS wk, COUNT(*), 0, 0, 0 FROM conversation_messages
		WHERE direction = 'inbound' AND keyword = '' AND created_us >= $1 AND created_us < `+last+` GROUP BY wk`, micros,
		func(w *WeekActivity, a, _, _, _ int64) { w.Replies = int(a) })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SegmentsUsed is the parts counted against the quota in month ("2006-01", UTC).
func (s *Store) SegmentsUsed(ctx context.Context, h *tenancy.Handle, month string) (int, error) {
	var n int
	err := h.QueryRowContext(ctx, `SELECT COALESCE(MAX(segments), 0) FROM segment_usage WHERE month = $1`, month).Scan(&n)
	return n, err
}
