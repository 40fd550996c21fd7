package testkit

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
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

// SentTo is what the simulator accepted for a phone, oldest first.
func (s *Server) SentTo(phone string) []telnyxsim.SentMessage {
	return s.SentWhere(func(m telnyxsim.SentMessage) bool { return m.To == phone })
}

// SentFrom is what the simulator accepted from a number, oldest first.
func (s *Server) SentFrom(from string) []telnyxsim.SentMessage {
	return s.SentWhere(func(m telnyxsim.SentMessage) bool { return m.From == from })
}

// SentWhere is what the simulator accepted that keep holds for, by the
// time the simulator received it.
func (s *Server) SentWhere(keep func(telnyxsim.SentMessage) bool) []telnyxsim.SentMessage {
	var out []telnyxsim.SentMessage
	for _, m := range s.Sim.Messages() {
		if keep(m) {
			out = append(out, m)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ReceivedAt.Before(out[j].ReceivedAt) })
	return out
}

// ScriptRegistration scripts the simulator's next 10DLC outcome of a kind.
func ScriptRegistration(t testing.TB, sim *telnyxsim.Sim, kind string, o telnyxsim.RegistrationOutcome) {
	t.Helper()
	if err := sim.ScriptRegistration(kind, o); err != nil {
		t.Fatal(err)
	}
}
