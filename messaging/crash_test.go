package messaging_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/internal/app"
	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// chunkJob is one send job of a broadcast as River holds it.
type chunkJob struct {
	state   string
	attempt int
	chunk   int
}

// chunkJobs lists the send jobs of a broadcast, from the registry.
func chunkJobs(t *testing.T, s *testkit.Server, messageID string) []chunkJob {
	t.Helper()
	args := "json(args)" // River's SQLite driver stores args as JSONB
	if s.Backend.Postgres() {
		args = "args::text"
	}
	rows, err := s.Tenancy.Registry.DB().QueryContext(context.Background(),
		`SELECT state, attempt, `+args+` FROM river_job WHERE kind = 'send_chunk'`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []chunkJob
	for rows.Next() {
		var j chunkJob
		var raw []byte
		if err := rows.Scan(&j.state, &j.attempt, &raw); err != nil {
			t.Fatal(err)
		}
		var a messaging.SendChunkArgs
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatalf("send_chunk args %q: %v", raw, err)
		}
		if a.MessageID == messageID {
			j.chunk = a.Chunk
			out = append(out, j)
		}
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestBroadcastRecovery covers the crash windows, on one server (one
// registry: PostgreSQL databases are slow to drop): a broadcast committed
// but never handed to the queue, and a worker process dying mid-broadcast.
func TestBroadcastRecovery(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		parent := t
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true, Tenancy: wallClock,
			Messaging: func(c *messaging.Config) { c.SweepAge = 0 }})
		// The first process's queue, which the crash below cancels.
		runCtx, crash := context.WithCancel(context.Background())
		if err := s.Queue.Start(runCtx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			crash()
			sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			_ = s.Queue.Stop(sctx)
		})
		c := s.Church(t, testkit.ChurchOptions{Name: "Sweep Street Church", Email: "owner@sweep.example.org", Number: "+13125550800"})
		importMembers(t, s, c, membersCSV("Sweep", 2000, 2150))
		t.Run("orphaned broadcast swept once", func(t *testing.T) { testSweep(t, s, c) })
		t.Run("worker crash mid-broadcast", func(t *testing.T) { testWorkerCrash(t, s, crash, parent.Cleanup) })
	})
}

// testSweep: a process that committed a broadcast but died before handing
// it to the queue leaves an intent; the recovery sweep dispatches it
// exactly once, however many sweeps run, and drops intents whose broadcast
// never committed.
func testSweep(t *testing.T, s *testkit.Server, c *testkit.Church) {
	ctx := context.Background()
	// What Service.Create does up to its crash: intent, then the church's
	// transaction; no dispatch.
	h, err := s.Tenancy.Manager.Acquire(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	people, err := s.Store.AudienceMembers(ctx, h, store.Audience{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var rs []store.OutgoingRecipient
	for i, p := range people {
		rs = append(rs, store.OutgoingRecipient{Recipient: p, Body: "Hello " + p.FirstName, Chunk: i / store.ChunkSize})
	}
	bc := &store.Broadcast{ID: steeple.NewID(), Text: "Hello {first_name}", MediaURLs: []string{}, Audience: store.Audience{All: true},
		From: c.Number, Encoding: messaging.EncodingGSM7, SegmentsPerMessage: 1, Recipients: len(rs),
		Chunks: (len(rs) + store.ChunkSize - 1) / store.ChunkSize, CreatedBy: steeple.NewID()}
	if err := s.Tenancy.Registry.AddDispatchIntent(ctx, tenancy.IntentBroadcast, c.ID, bc.ID); err != nil {
		t.Fatal(err)
	}
	err = s.Store.CreateBroadcast(ctx, h, bc, rs, len(rs), 0)
	h.Release()
	if err != nil {
		t.Fatal(err)
	}
	// Another process died before its church transaction committed.
	ghost := steeple.NewID()
	if err := s.Tenancy.Registry.AddDispatchIntent(ctx, tenancy.IntentBroadcast, c.ID, ghost); err != nil {
		t.Fatal(err)
	}
	if v := c.API(s).GetBroadcast(t, bc.ID); v.Message.Dispatched || v.Message.Counts["queued"] != 150 || len(chunkJobs(t, s, bc.ID)) != 0 {
		t.Fatalf("orphaned broadcast before the sweep: dispatched %v, counts %v, jobs %v", v.Message.Dispatched, v.Message.Counts, chunkJobs(t, s, bc.ID))
	}

	// Two processes sweep at once.
	var wg sync.WaitGroup
	var n [2]int
	var errs [2]error
	for i := range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); n[i], errs[i] = s.Messaging.Sweep(ctx) }()
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || n[0]+n[1] < 2 {
		t.Fatalf("concurrent sweeps: %v %v, handled %d and %d intents; want both intents handled", errs[0], errs[1], n[0], n[1])
	}
	if left, err := s.Tenancy.Registry.StaleDispatchIntents(ctx, 0, 10); err != nil || len(left) != 0 {
		t.Fatalf("intents after the sweep: %v %v; want none", left, err)
	}
	if n, err := s.Messaging.Sweep(ctx); n != 0 || err != nil {
		t.Fatalf("second sweep: %d, %v; want nothing to do", n, err)
	}
	v := waitDone(t, s, c, bc.ID, time.Minute)
	wantAllSent(t, v, 150)
	if !v.Message.Dispatched {
		t.Errorf("swept broadcast is not marked dispatched")
	}
	wantOncePerPhone(t, s, 2000, 2150)
	if r := s.Do(t, "GET", "/api/v1/messages/"+ghost, c.Token, nil); r.Status != 404 {
		t.Errorf("GET the never-committed broadcast: %d %s; want 404", r.Status, r.Raw)
	}
	testkit.WaitUntil(t, 30*time.Second, func() bool {
		for _, j := range chunkJobs(t, s, bc.ID) {
			if j.state != "completed" {
				return false
			}
		}
		return true
	}, func() string { return fmt.Sprintf("send jobs not completed: %+v", chunkJobs(t, s, bc.ID)) })

	// A stale intent for a broadcast already sent dispatches nothing new.
	if err := s.Tenancy.Registry.AddDispatchIntent(ctx, tenancy.IntentBroadcast, c.ID, bc.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := s.Messaging.Sweep(ctx); n != 1 || err != nil {
		t.Fatalf("sweep of a stale intent: %d, %v; want 1 handled", n, err)
	}
	js := chunkJobs(t, s, bc.ID)
	if len(js) != 2 {
		t.Fatalf("send jobs after three sweeps: %+v; want exactly 2 (one per chunk)", js)
	}
	for _, j := range js {
		if j.state != "completed" {
			t.Errorf("chunk %d job is %s; want completed (no new work)", j.chunk, j.state)
		}
	}
	wantOncePerPhone(t, s, 2000, 2150)
}

// testWorkerCrash: the process whose queue runs dies half-way through a
// 2,000-recipient broadcast; a second process with its own service and
// queue finishes it. Everyone gets the text, and the only duplicates
// allowed are the documented window: a send in flight when the first
// process died (at most one per running job).
// The second process keeps running after this returns (until cleanup).
func testWorkerCrash(t *testing.T, s *testkit.Server, crash context.CancelFunc, cleanup func(func())) {
	const total, workers = 2000, 8 // testkit's queue runs 8 workers
	c := s.Church(t, testkit.ChurchOptions{Name: "Crash Cathedral", Email: "owner@crash.example.org", Number: "+13125550700"})
	if a := importMembers(t, s, c, membersCSV("Crash", 3000, 3000+total)); a.Created != total {
		t.Fatalf("import: %+v", a)
	}
	ctx := context.Background()
	id := c.API(s).Broadcast(t, map[string]any{"text": "Fire drill: meet in the parking lot", "audience": map[string]any{"all": true}})
	testkit.WaitUntil(t, time.Minute, func() bool { return len(s.SentFrom(c.Number)) >= 600 },
		func() string { return "the first process never sent 600 texts" })

	// Crash: cancel everything the first queue is doing, mid-send.
	crash()
	stopCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	err := s.Queue.Stop(stopCtx)
	cancel()
	if err != nil {
		t.Logf("stopping the crashed queue: %v", err)
	}
	atCrash := len(s.SentFrom(c.Number))
	before := c.API(s).GetBroadcast(t, id).Message.Counts
	if atCrash >= total {
		t.Fatalf("the first process sent all %d texts before the crash; the test proves nothing", total)
	}
	t.Logf("%s: crash after %d texts; recipients then: %v", s.Backend.Name, atCrash, before)

	// The second process: its own service and queue over the same
	// registry, church databases and provider.
	simHTTP := httptest.NewServer(s.Sim)
	cleanup(simHTTP.Close)
	a := s.Another(t, simHTTP.URL, func(tu *app.Tuning) {
		tu.Queue.MaxWorkers, tu.Queue.EventWorkers = workers, 0
	})
	startQueue(t, a.Queue, cleanup)

	wantAllSent(t, waitDone(t, s, c, id, 2*time.Minute), total)
	missing, dups := 0, 0
	for i := 3000; i < 3000+total; i++ {
		switch n := s.Sim.CountTo(testkit.Phone(i)); {
		case n == 0:
			missing++
		case n > 1:
			dups += n - 1
		}
	}
	t.Logf("%s: after the restart: %d texts in all, %d duplicates, %d recipients never texted",
		s.Backend.Name, len(s.SentFrom(c.Number)), dups, missing)
	if missing > 0 {
		t.Errorf("%d recipients never got the text although the broadcast says all were sent", missing)
	}
	if dups > workers {
		t.Errorf("%d duplicate texts; the documented window allows at most one per running job (%d)", dups, workers)
	}
}

// The recovery sweep leaves a suspended church's unsent messages for when
// it is resumed (they do not take the place of other churches' in the
// sweep's batch), and dispatches them then.
func TestSweepWaitsForASuspendedChurch(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		s := testkit.NewServer(t, b, testkit.ServerOptions{NoQueue: true, Messaging: func(c *messaging.Config) { c.SweepAge = 0 }})
		ctx := context.Background()
		c := s.Church(t, testkit.ChurchOptions{Name: "Grace Chapel", Email: "owner@grace.example.org", Number: "+13125550810"})
		if err := s.Tenancy.Registry.AddDispatchIntent(ctx, tenancy.IntentReply, c.ID, steeple.NewID()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Tenancy.Registry.SetStatus(ctx, c.ID, steeple.TenantSuspended, steeple.TenantActive); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Messaging.Sweep(ctx); n != 0 || err != nil {
			t.Fatalf("sweep while suspended: %d, %v; want nothing taken", n, err)
		}
		var kept int
		if err := s.Tenancy.Registry.DB().QueryRowContext(ctx, `SELECT count(*) FROM dispatch_intents WHERE tenant_id = $1`, c.ID).Scan(&kept); err != nil || kept != 1 {
			t.Fatalf("intents kept for the suspended church: %d, %v; want 1", kept, err)
		}
		if _, err := s.Tenancy.Registry.SetStatus(ctx, c.ID, steeple.TenantActive, steeple.TenantSuspended); err != nil {
			t.Fatal(err)
		}
		if n, err := s.Messaging.Sweep(ctx); n != 1 || err != nil {
			t.Fatalf("sweep after resuming: %d, %v; want the intent handled", n, err)
		}
		if left, err := s.Tenancy.Registry.StaleDispatchIntents(ctx, 0, 10); err != nil || len(left) != 0 {
			t.Fatalf("intents left: %+v, %v", left, err)
		}
	})
}
