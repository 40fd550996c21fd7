package schedule_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// phoneOf is the i-th test phone of block k.
func phoneOf(k, i int) string { return fmt.Sprintf("+1312%03d%04d", 300+k, i) }

// scheduleAt schedules a broadcast of text to the given members at at and
// returns the schedule's id.
func scheduleAt(t testing.TB, s *testkit.Server, c *testkit.Church, text string, memberIDs []string, at time.Time) string {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/messages", c.Token, map[string]any{"text": text, "audience": map[string]any{"member_ids": memberIDs},
		"send_at": at.UTC().Format(time.RFC3339)})
	if r.Status != http.StatusCreated {
		t.Fatalf("schedule: %d %s", r.Status, r.Raw)
	}
	return r.ID(t)
}

// waitEach waits until every phone has at least one text containing text
// (failing after timeout), then for the queue to settle.
func waitEach(t testing.TB, s *testkit.Server, phones []string, text string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		missing := 0
		for _, p := range phones {
			if s.TextsContaining(p, text) == 0 {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d phones have no %q after %v", missing, len(phones), text, timeout)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// wantOnceEach checks every phone got exactly one text containing text.
func wantOnceEach(t testing.TB, s *testkit.Server, phones []string, text string) {
	t.Helper()
	var wrong []string
	for _, p := range phones {
		if n := s.TextsContaining(p, text); n != 1 {
			wrong = append(wrong, fmt.Sprintf("%s×%d", p, n))
		}
	}
	if len(wrong) > 0 {
		t.Fatalf("%d of %d phones did not get %q exactly once: %s", len(wrong), len(phones), text, strings.Join(wrong[:min(10, len(wrong))], ", "))
	}
}

// scheduleRow reads a schedule's status and runs from the church's database.
func scheduleRow(t testing.TB, s *testkit.Server, c *testkit.Church, id string) (*store.Schedule, []steeple.ScheduleRun) {
	t.Helper()
	var sc *store.Schedule
	var runs []steeple.ScheduleRun
	s.WithHandle(t, c.ID, func(h *tenancy.Handle) {
		var err error
		if sc, err = s.Store.Schedule(context.Background(), h, id); err != nil {
			t.Fatal(err)
		}
		if runs, err = s.Store.ScheduleRuns(context.Background(), h, id, 100); err != nil {
			t.Fatal(err)
		}
	})
	return sc, runs
}

// dueRows counts the registry's due rows of a church.
func dueRows(t testing.TB, s *testkit.Server, tenantID string) int {
	t.Helper()
	var n int
	if err := s.Tenancy.Registry.DB().QueryRowContext(context.Background(), `SELECT count(*) FROM schedule_due WHERE tenant_id = $1`,
		tenantID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// broadcastCount counts a church's broadcasts.
func broadcastCount(t testing.TB, s *testkit.Server, tenantID string) int {
	t.Helper()
	var n int
	s.WithHandle(t, tenantID, func(h *tenancy.Handle) {
		if err := h.QueryRowContext(context.Background(), `SELECT count(*) FROM messages`).Scan(&n); err != nil {
			t.Fatal(err)
		}
	})
	return n
}

// blockRuns makes recording an occurrence's run fail in the church's
// database, as if the process died right after making the broadcast; the
// returned function removes the block.
func blockRuns(t testing.TB, s *testkit.Server, b *testkit.Backend, tenantID string) func() {
	t.Helper()
	ctx := context.Background()
	var stmts, undo []string
	if b.Postgres() {
		stmts = []string{
			`CREATE FUNCTION test_block_runs() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'test: died before recording the run'; END $$`,
			`CREATE TRIGGER test_block_runs BEFORE INSERT ON schedule_runs FOR EACH ROW EXECUTE FUNCTION test_block_runs()`,
		}
		undo = []string{`DROP TRIGGER test_block_runs ON schedule_runs`, `DROP FUNCTION test_block_runs()`}
	} else {
		stmts = []string{`CREATE TRIGGER test_block_runs BEFORE INSERT ON schedule_runs BEGIN SELECT RAISE(ABORT, 'test: died before recording the run'); END`}
		undo = []string{`DROP TRIGGER test_block_runs`}
	}
	run := func(qs []string) {
		s.WithHandle(t, tenantID, func(h *tenancy.Handle) {
			for _, q := range qs {
				if _, err := h.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
		})
	}
	run(stmts)
	return func() { run(undo) }
}
