package tenancy_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/telnyx/telnyxsim"
	"github.com/steeple-sms/steeple/tenancy"
)

// sqliteDeployment is a stopped embedded deployment with two churches and
// what a real one holds, plus one webhook event still queued.
type sqliteDeployment struct {
	s              *testkit.Server
	grace, second  *testkit.Church
	annID, annMail string
	broadcastID    string
	recurringID    string
	queuedText     string
}

func buildSQLiteDeployment(t *testing.T) *sqliteDeployment {
	t.Helper()
	// A text whose connection does not come stays queued: its own wait
	// after its answer (which would apply it and take its job back) is off.
	s := testkit.NewServer(t, testkit.SQLite(t), testkit.ServerOptions{Tune: func(tu *app.Tuning) { tu.Webhooks.LateWait = -1 }})
	d := &sqliteDeployment{s: s, annMail: "ann@example.org", queuedText: "Queued before the move"}
	d.grace = s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Number: "+13125550100", Members: 3, QuietHoursOff: true})
	d.second = s.Church(t, testkit.ChurchOptions{Name: "First Baptist", Number: "+13125550101", Members: 2, QuietHoursOff: true})
	api := d.grace.API(s)
	var m struct{ ID string }
	api.Call(t, "POST", "/api/v1/members", map[string]any{"first_name": "Ann", "last_name": "Lee", "phone": "(312) 555-0142",
		"email": d.annMail, "consent": map[string]any{"opted_in": true, "wording": "Grace Chapel texts"}}, http.StatusCreated, &m)
	d.annID = m.ID
	var g struct{ ID string }
	api.Call(t, "POST", "/api/v1/groups", map[string]any{"name": "Choir"}, http.StatusCreated, &g)
	api.Call(t, "POST", "/api/v1/groups/"+g.ID+"/members", map[string]any{"member_ids": []string{d.annID, d.grace.MemberIDs[0]}}, http.StatusNoContent, nil)
	api.Call(t, "POST", "/api/v1/keywords", map[string]any{"word": "Connect", "group_id": g.ID, "reply": "Welcome!"}, http.StatusCreated, nil)
	d.broadcastID = api.BroadcastAll(t, "Service at 10 this Sunday")
	// Delivered, not just sent: a receipt arriving after the workers stop
	// would be one more queued job than the test means to carry over.
	testkit.WaitUntil(t, 30*time.Second, func() bool { return deliveredAll(api.GetBroadcast(t, d.broadcastID)) }, "the broadcast to be delivered")
	var r struct{ ID string }
	api.Call(t, "POST", "/api/v1/recurring", map[string]any{"name": "Sunday reminder",
		"rule":    map[string]any{"frequency": "weekly", "weekdays": []string{"sunday"}, "time": "08:30"},
		"message": map[string]any{"text": "See you Sunday", "audience": map[string]any{"all": true}}}, http.StatusCreated, &r)
	d.recurringID = r.ID
	api.Call(t, "POST", "/api/v1/messages", map[string]any{"text": "Potluck!", "audience": map[string]any{"all": true},
		"send_at": s.Clock.Now().Add(48 * time.Hour).Format(time.RFC3339)}, http.StatusCreated, nil)
	inbound(t, s, d.grace.Phones[1], d.grace.Number, "Thank you!")
	testkit.WaitUntil(t, 30*time.Second, func() bool { return len(api.Conversations(t, "")) > 0 }, "the first text to be applied")

	// Stop the workers, then take one more text: its event stays queued.
	// (It is queued only when its church has no connection free at once:
	// this holds every connection Grace Chapel's pool may have.)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Queue.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	_, release := s.HoldConnections(t, d.grace.ID)
	inbound(t, s, d.grace.Phones[2], d.grace.Number, d.queuedText)
	release()
	if n := s.JobCount(t, "webhook_event", "available"); n == 0 {
		t.Logf("queued jobs by kind: none named webhook_event available")
	}
	if err := s.App.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}

func inbound(t *testing.T, s *testkit.Server, from, to, text string) {
	t.Helper()
	if err := s.Sim.Inbound(context.Background(), telnyxsim.InboundMessage{From: from, To: to, Text: text,
		WebhookURL: s.URL + "/webhooks/telnyx"}); err != nil {
		t.Fatalf("inbound %q: %v", text, err)
	}
}

func move(t *testing.T, pg *testkit.Backend, dir string, hook func(tenancy.MoveStep, string) error) (*tenancy.MoveReport, error) {
	t.Helper()
	ctx := context.Background()
	ten, err := tenancy.Open(ctx, pg.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer ten.Close()
	return ten.MoveFromSQLite(ctx, tenancy.MoveOptions{SourceDir: dir, Parallel: 2, AfterStep: hook})
}

var errCrash = errors.New("simulated crash")

// The move survives a crash after each of its steps: every re-run resumes,
// and at the end every church, member, message, schedule, number and the
// queued event are on PostgreSQL exactly once, served by a PostgreSQL
// Steeple with the same keys.
func TestMoveToPostgres(t *testing.T) {
	pg := testkit.Postgres(t, true) // two servers: the churches are spread over them
	d := buildSQLiteDeployment(t)
	dir := d.s.Backend.DataDir()
	steps := []tenancy.MoveStep{tenancy.MoveStepRegistry, tenancy.MoveStepPlace, tenancy.MoveStepCreate,
		tenancy.MoveStepCopy, tenancy.MoveStepVerify, tenancy.MoveStepFlip}
	jobs := 0
	for _, step := range steps {
		// The crash hits Grace Chapel (or the registry); the other church may move meanwhile.
		rep, err := move(t, pg, dir, func(s tenancy.MoveStep, id string) error {
			if s == step && (id == "" || id == d.grace.ID) {
				return errCrash
			}
			return nil
		})
		if step == tenancy.MoveStepRegistry {
			if !errors.Is(err, errCrash) {
				t.Fatalf("crash after the registry: got %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("crash after %s: %v", step, err)
		}
		if !rep.RegistryCopied || rep.RegistryRows["tenants"] != 2 {
			t.Fatalf("crash after %s: the registry was not copied again: %+v", step, rep)
		}
		jobs = max(jobs, rep.Jobs)
		if rep.OK() || churchOutcome(rep, d.grace.ID) != tenancy.MoveFailed {
			t.Fatalf("crash after %s: Grace Chapel is %s, report OK %v", step, churchOutcome(rep, d.grace.ID), rep.OK())
		}
	}
	rep, err := move(t, pg, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The last crash came after Grace Chapel's flip had committed.
	if !rep.OK() || churchOutcome(rep, d.grace.ID) != tenancy.MoveAlready || churchOutcome(rep, d.second.ID) != tenancy.MoveAlready {
		t.Fatalf("final run: %+v", rep.Churches)
	}
	if jobs != 1 {
		t.Errorf("%d unfinished jobs carried over; want the queued webhook event", jobs)
	}
	again, err := move(t, pg, dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if again.RegistryCopied || again.AlreadyMoved != 2 || again.Moved != 0 {
		t.Fatalf("a run after the move copied again: %+v", again)
	}
	checkSameRows(t, d, pg)
	checkServedFromPostgres(t, d, pg)
}

func churchOutcome(rep *tenancy.MoveReport, id string) tenancy.MoveOutcome {
	for _, c := range rep.Churches {
		if c.TenantID == id {
			return c.Outcome
		}
	}
	return ""
}

// checkSameRows compares every church table's row count on both sides.
func checkSameRows(t *testing.T, d *sqliteDeployment, pg *testkit.Backend) {
	t.Helper()
	ctx := context.Background()
	src, err := tenancy.Open(ctx, d.s.Backend.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := tenancy.Open(ctx, pg.Options())
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	servers := map[string]bool{}
	for _, id := range []string{d.grace.ID, d.second.ID} {
		tn, err := dst.Registry.Tenant(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		servers[tn.Server] = true
		want, got := tableCounts(t, src, id, false), tableCounts(t, dst, id, true)
		if len(want) < 10 {
			t.Fatalf("only %d tables in the SQLite church", len(want))
		}
		for table, n := range want {
			if got[table] != n {
				t.Errorf("church %s table %s: %d rows on PostgreSQL, %d on SQLite", id, table, got[table], n)
			}
		}
	}
	if len(servers) != 2 {
		t.Errorf("both churches were placed on %v; each server should have taken one", servers)
	}
	var moved int
	if err := dst.Registry.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE metadata ? 'steeple_moved_from_sqlite'`).Scan(&moved); err != nil || moved != 1 {
		t.Errorf("jobs carried over on PostgreSQL: %d (%v), want the one queued event once", moved, err)
	}
	for _, q := range []string{"SELECT COUNT(*) FROM schedule_due", "SELECT COUNT(*) FROM phone_numbers", "SELECT COUNT(*) FROM login_index", "SELECT COUNT(*) FROM tenants"} {
		var a, b int
		if err := src.Registry.DB().QueryRowContext(ctx, q).Scan(&a); err != nil {
			t.Fatal(err)
		}
		if err := dst.Registry.DB().QueryRowContext(ctx, q).Scan(&b); err != nil {
			t.Fatal(err)
		}
		if a != b || a == 0 {
			t.Errorf("%s: %d on SQLite, %d on PostgreSQL", q, a, b)
		}
	}
}

func tableCounts(t *testing.T, ten *tenancy.Tenancy, id string, postgres bool) map[string]int {
	t.Helper()
	ctx := context.Background()
	h, err := ten.Manager.AcquireToRecord(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Release()
	q := `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'goose_db_version'`
	if postgres {
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_name <> 'goose_db_version'`
	}
	rows, err := h.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	var tables []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		tables = append(tables, n)
	}
	rows.Close()
	out := map[string]int{}
	for _, table := range tables {
		var n int
		if err := h.QueryRowContext(ctx, fmt.Sprintf(`SELECT COUNT(*) FROM %q`, table)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		out[table] = n
	}
	return out
}

// checkServedFromPostgres starts Steeple on the PostgreSQL side with the
// SQLite side's keys and looks at everything through the API.
func checkServedFromPostgres(t *testing.T, d *sqliteDeployment, pg *testkit.Backend) {
	t.Helper()
	s := testkit.NewServer(t, pg, testkit.ServerOptions{Keys: &d.s.KeysFile})
	r, sess := s.Client("").Login(t, d.grace.Email, d.grace.Password, d.grace.ID)
	if r.Status != http.StatusOK || sess.AccessToken == "" {
		t.Fatalf("sign-in on PostgreSQL: %d %s", r.Status, r.Raw)
	}
	api := s.Client(sess.AccessToken)
	ann := api.GetMember(t, d.annID)
	if ann.Phone != "+13125550142" || ann.Email != d.annMail || len(ann.Groups) != 1 {
		t.Errorf("Ann on PostgreSQL: phone %q email %q groups %v", ann.Phone, ann.Email, ann.Groups)
	}
	var found struct{ Members []steeple.Member }
	api.Call(t, "GET", "/api/v1/members?q=%2B13125550142", nil, http.StatusOK, &found)
	if len(found.Members) != 1 {
		t.Errorf("search by phone (blind index) found %d members", len(found.Members))
	}
	b := api.GetBroadcast(t, d.broadcastID)
	if !sentAll(b) || len(b.Recipients) != 4 {
		t.Errorf("broadcast on PostgreSQL: %d recipients, counts %v", len(b.Recipients), b.Message.Counts)
	}
	api.Call(t, "GET", "/api/v1/recurring/"+d.recurringID, nil, http.StatusOK, nil)
	if n := s.RegistryCount(t, `SELECT COUNT(*) FROM schedule_due WHERE tenant_id = $1`, d.grace.ID); n != 2 {
		t.Errorf("schedule_due rows of Grace Chapel: %d, want 2 (recurring and once)", n)
	}
	if api.Numbers(t).Number(d.grace.Number) == nil {
		t.Errorf("number %s not listed on PostgreSQL", d.grace.Number)
	}
	// The event queued before the move is applied, and a new text is
	// routed by number to the same church.
	testkit.WaitUntil(t, 30*time.Second, func() bool { return threadCount(t, api, d.queuedText) > 0 }, "the queued text to be applied")
	inbound(t, s, d.grace.Phones[0], d.grace.Number, "After the move")
	testkit.WaitUntil(t, 30*time.Second, func() bool { return threadCount(t, api, "After the move") > 0 }, "a new text to reach Grace Chapel")
	if n := threadCount(t, api, d.queuedText); n != 1 {
		t.Errorf("the queued text is in the inbox %d times", n)
	}
	other := s.Client("")
	_, sess2 := other.Login(t, d.second.Email, d.second.Password, d.second.ID)
	if sess2.AccessToken == "" {
		t.Fatal("the second church's owner cannot sign in")
	}
	s.Client(sess2.AccessToken).Call(t, "GET", "/api/v1/members/"+d.annID, nil, http.StatusNotFound, nil)
}

func threadCount(t *testing.T, api *testkit.Client, text string) int {
	n := 0
	for _, c := range api.Conversations(t, "") {
		for _, m := range api.Thread(t, c.ID).Messages {
			if strings.Contains(m.Body, text) {
				n++
			}
		}
	}
	return n
}

func deliveredAll(b *testkit.BroadcastView) bool {
	for _, r := range b.Recipients {
		if r.Status != steeple.RecipientDelivered {
			return false
		}
	}
	return len(b.Recipients) > 0
}

func sentAll(b *testkit.BroadcastView) bool {
	for _, r := range b.Recipients {
		if r.Status != steeple.RecipientSent && r.Status != steeple.RecipientDelivered {
			return false
		}
	}
	return len(b.Recipients) > 0
}
