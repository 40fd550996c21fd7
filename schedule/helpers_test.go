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

// church is a church under test: its id, its owner's token and number.
type church struct {
	id, token, number, email string
}

// relogin signs the owner in again: access tokens last 15 minutes of the
// test clock, which tests move by hours.
func (c *church) relogin(t testing.TB, s *testkit.Server) {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/auth/login", "", map[string]any{"email": c.email, "password": "correct horse battery", "tenant_id": c.id})
	if r.Status != http.StatusOK {
		t.Fatalf("login: %d %s", r.Status, r.Raw)
	}
	c.token = r.Body["access_token"].(string)
}

// newChurch signs a church up, gives it a number and turns its quiet hours
// off (equal times), so the time of day does not matter unless a test says.
func newChurch(t testing.TB, s *testkit.Server, name, email, number string) *church {
	t.Helper()
	r := s.Signup(t, name, email, "correct horse battery")
	c := &church{id: r.Body["tenant"].(map[string]any)["id"].(string), token: r.Body["access_token"].(string), number: number, email: email}
	if err := s.Tenancy.Registry.AssignNumber(context.Background(), c.id, number); err != nil {
		t.Fatal(err)
	}
	setQuietHours(t, s, c, "00:00", "00:00")
	return c
}

// setQuietHours sets the church's quiet hours ("00:00", "00:00": none).
func setQuietHours(t testing.TB, s *testkit.Server, c *church, start, end string) {
	t.Helper()
	if r := s.Do(t, "PUT", "/api/v1/settings", c.token, map[string]any{"quiet_hours_start": start, "quiet_hours_end": end}); r.Status != http.StatusOK {
		t.Fatalf("settings: %d %s", r.Status, r.Raw)
	}
}

// withHandle runs fn on the church's database.
func withHandle(t testing.TB, s *testkit.Server, tenantID string, fn func(h *tenancy.Handle)) {
	t.Helper()
	h, err := s.Tenancy.Manager.Acquire(context.Background(), tenantID)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	fn(h)
}

// phoneOf is the i-th test phone of block k.
func phoneOf(k, i int) string { return fmt.Sprintf("+1312%03d%04d", 300+k, i) }

// addMembers adds n opted-in members straight to the church's database
// (no welcome texts: only the schedules' texts reach the simulator) and
// returns their ids and phones.
func addMembers(t testing.TB, s *testkit.Server, c *church, block, n int) ([]string, []string) {
	t.Helper()
	var ids, phones []string
	withHandle(t, s, c.id, func(h *tenancy.Handle) {
		for i := range n {
			p := phoneOf(block, i)
			m, err := s.Store.CreateMember(context.Background(), h, store.MemberInput{FirstName: fmt.Sprintf("M%d", i), Phone: p},
				steeple.Consent{Status: steeple.ConsentOptedIn, Source: steeple.ConsentSourceAdmin, Wording: "test"})
			if err != nil {
				t.Fatal(err)
			}
			ids, phones = append(ids, m.ID), append(phones, p)
		}
	})
	return ids, phones
}

// scheduleAt schedules a broadcast of text to the given members at at and
// returns the schedule's id.
func scheduleAt(t testing.TB, s *testkit.Server, c *church, text string, memberIDs []string, at time.Time) string {
	t.Helper()
	r := s.Do(t, "POST", "/api/v1/messages", c.token, map[string]any{"text": text, "audience": map[string]any{"member_ids": memberIDs},
		"send_at": at.UTC().Format(time.RFC3339)})
	if r.Status != http.StatusCreated {
		t.Fatalf("schedule: %d %s", r.Status, r.Raw)
	}
	return r.Body["id"].(string)
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
func scheduleRow(t testing.TB, s *testkit.Server, c *church, id string) (*store.Schedule, []steeple.ScheduleRun) {
	t.Helper()
	var sc *store.Schedule
	var runs []steeple.ScheduleRun
	withHandle(t, s, c.id, func(h *tenancy.Handle) {
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
	withHandle(t, s, tenantID, func(h *tenancy.Handle) {
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
		withHandle(t, s, tenantID, func(h *tenancy.Handle) {
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
