package testkit

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// SettleQueue waits until the job queue has nothing to run now (jobs
// scheduled for later are left), at most 60 s, naming what is left if not.
func (s *Server) SettleQueue(t testing.TB) {
	t.Helper()
	const unfinished = `state IN ('available', 'running', 'retryable', 'pending')`
	db := s.Tenancy.Registry.DB()
	deadline := time.Now().Add(60 * time.Second)
	for {
		var n int
		if err := db.QueryRowContext(context.Background(), `SELECT count(*) FROM river_job WHERE `+unfinished).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			return
		}
		if time.Now().After(deadline) {
			var left []string
			rows, err := db.QueryContext(context.Background(), `SELECT kind, state, attempt FROM river_job WHERE `+unfinished+` ORDER BY id`)
			if err == nil {
				for rows.Next() {
					var kind, state string
					var attempt int
					_ = rows.Scan(&kind, &state, &attempt)
					left = append(left, fmt.Sprintf("%s %s (attempt %d)", kind, state, attempt))
				}
				rows.Close()
			}
			t.Fatalf("%d jobs still to run after 60 s: %s", n, strings.Join(left, ", "))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TextsContaining counts the texts the simulator accepted for phone whose
// body contains text.
func (s *Server) TextsContaining(phone, text string) int {
	n := 0
	for _, m := range s.Sim.Messages() {
		if m.To == phone && strings.Contains(m.Text, text) {
			n++
		}
	}
	return n
}
