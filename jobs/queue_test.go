package jobs_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/tenancy"
)

type noopArgs struct{}

func (noopArgs) Kind() string { return "noop" }

type noopWorker struct{ river.WorkerDefaults[noopArgs] }

func (noopWorker) Work(context.Context, *river.Job[noopArgs]) error { return nil }

// A queue takes workers before it is opened; inserting or starting before
// Open is an error, not a nil dereference, and works after it.
func TestQueueOpensLast(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel()
		ten := b.Open(t, b.Options())
		q, err := jobs.New(ten.Registry, jobs.Config{MaxWorkers: 1})
		if err != nil {
			t.Fatal(err)
		}
		river.AddWorker(q.Workers(), noopWorker{})
		ctx := context.Background()
		params := []river.InsertManyParams{{Args: noopArgs{}}}
		if _, err := q.InsertTx(ctx, nil, params); err == nil {
			t.Fatal("insert before Open succeeded")
		}
		if err := q.Start(ctx); err == nil {
			t.Fatal("start before Open succeeded")
		}
		if err := q.Open(); err != nil {
			t.Fatal(err)
		}
		res, err := q.InsertTx(ctx, nil, params)
		if err != nil || len(res) != 1 {
			t.Fatalf("insert after Open: %v, %d jobs", err, len(res))
		}
	})
}

func TestQueueConfigIsValidated(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel()
		ten := b.Open(t, b.Options())
		for _, c := range []jobs.Config{{MaxWorkers: -1}, {EventWorkers: -2}, {JobTimeout: 20, RescueAfter: 10}} {
			if _, err := jobs.New(ten.Registry, c); err == nil {
				t.Errorf("config %+v accepted", c)
			}
		}
	})
}

type placeArgs struct {
	MessageID string `json:"message_id"`
}

func (placeArgs) Kind() string { return "place_test" }

type placeWorker struct {
	river.WorkerDefaults[placeArgs]
	ran chan string
}

func (w placeWorker) Work(_ context.Context, j *river.Job[placeArgs]) error {
	w.ran <- j.Args.MessageID
	return nil
}

// openOneWorkerQueue opens a queue with one worker over a new registry on
// b, its workers added by add; it is not started.
func openOneWorkerQueue(t *testing.T, b *testkit.Backend, add func(*river.Workers)) (*jobs.Queue, *tenancy.Tenancy) {
	t.Helper()
	ten := b.Open(t, b.Options())
	q, err := jobs.New(ten.Registry, jobs.Config{MaxWorkers: 1, PollInterval: 20 * time.Millisecond, NoPeriodicJobs: true})
	if err != nil {
		t.Fatal(err)
	}
	add(q.Workers())
	if err := q.Open(); err != nil {
		t.Fatal(err)
	}
	return q, ten
}

// Promote puts a waiting job back where it was inserted: a job snoozed
// until later, inserted before another, runs before it once promoted.
// Nothing to promote is reported, not an error.
func TestPromoteRestoresAJobsPlace(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel()
		w := placeWorker{ran: make(chan string, 4)}
		q, _ := openOneWorkerQueue(t, b, func(ws *river.Workers) { river.AddWorker(ws, w) })
		ctx := context.Background()
		later := &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)}
		if _, err := q.InsertTx(ctx, nil, []river.InsertManyParams{{Args: placeArgs{MessageID: "first"}, InsertOpts: later}}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond) // a later insertion time
		if _, err := q.InsertTx(ctx, nil, []river.InsertManyParams{{Args: placeArgs{MessageID: "second"}}}); err != nil {
			t.Fatal(err)
		}
		if ok, err := q.Promote(ctx, placeArgs{}.Kind(), "message_id", "nobody", time.Minute); ok || err != nil {
			t.Fatalf("promoting no job: %v, %v; want false, nil", ok, err)
		}
		if ok, err := q.Promote(ctx, placeArgs{}.Kind(), "message_id", "first", time.Second); ok || err != nil {
			t.Fatalf("promoting a job snoozed for longer than asked: %v, %v; want false, nil", ok, err)
		}
		if ok, err := q.Promote(ctx, placeArgs{}.Kind(), "message_id", "first", 2*time.Hour); !ok || err != nil {
			t.Fatalf("promoting the snoozed job: %v, %v; want true, nil", ok, err)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = q.Stop(context.Background()) })
		var order []string
		for range 2 {
			select {
			case m := <-w.ran:
				order = append(order, m)
			case <-time.After(10 * time.Second):
				t.Fatalf("only %v ran", order)
			}
		}
		if order[0] != "first" || order[1] != "second" {
			t.Fatalf("ran %v; want the promoted job first, in its place", order)
		}
		if ok, err := q.Promote(ctx, placeArgs{}.Kind(), "message_id", "first", time.Minute); ok || err != nil {
			t.Fatalf("promoting a job that ran (running or finished): %v, %v; want false, nil", ok, err)
		}
	})
}

type holdArgs struct{ Name string }

func (holdArgs) Kind() string { return "hold" }

// holdWorker reports each job it starts and finishes it when told,
// reporting whether its context had been cancelled meanwhile.
type holdWorker struct {
	river.WorkerDefaults[holdArgs]
	started chan string
	finish  chan struct{}
	cut     chan bool
}

func (w holdWorker) Work(ctx context.Context, j *river.Job[holdArgs]) error {
	w.started <- j.Args.Name
	<-w.finish
	w.cut <- ctx.Err() != nil
	return nil
}

// TakeBack deletes a job no worker has started, and leaves a running one
// alone, its context not cancelled: what it is doing is not cut short.
func TestTakeBackLeavesARunningJob(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel()
		w := holdWorker{started: make(chan string, 2), finish: make(chan struct{}), cut: make(chan bool, 2)}
		q, ten := openOneWorkerQueue(t, b, func(ws *river.Workers) { river.AddWorker(ws, w) })
		ctx := context.Background()
		later := &river.InsertOpts{ScheduledAt: time.Now().Add(time.Hour)}
		res, err := q.InsertTx(ctx, nil, []river.InsertManyParams{{Args: holdArgs{Name: "waiting"}, InsertOpts: later}, {Args: holdArgs{Name: "running"}}})
		if err != nil {
			t.Fatal(err)
		}
		ids := map[string]int64{}
		for _, r := range res {
			var a holdArgs
			if err := json.Unmarshal(r.Job.EncodedArgs, &a); err != nil {
				t.Fatal(err)
			}
			ids[a.Name] = r.Job.ID
		}
		waiting, running := ids["waiting"], ids["running"]
		if waiting == 0 || running == 0 {
			t.Fatalf("job ids %v", ids)
		}
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = q.Stop(context.Background()) })
		select {
		case name := <-w.started:
			if name != "running" {
				t.Fatalf("%s started", name)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the job did not start")
		}
		if ok, err := q.TakeBack(ctx, running); ok || err != nil {
			t.Fatalf("taking back a running job: %v, %v; want false, nil", ok, err)
		}
		if ok, err := q.TakeBack(ctx, waiting); !ok || err != nil {
			t.Fatalf("taking back a job not started: %v, %v; want true, nil", ok, err)
		}
		if ok, err := q.TakeBack(ctx, waiting); ok || err != nil {
			t.Fatalf("taking back a job gone already: %v, %v; want false, nil", ok, err)
		}
		time.Sleep(2500 * time.Millisecond) // past the queue's look for cancellations (2 s when polling)
		close(w.finish)
		if cut := <-w.cut; cut {
			t.Fatal("the running job's context was cancelled")
		}
		var n int
		if err := ten.Registry.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM river_job WHERE id = $1`, waiting).Scan(&n); err != nil || n != 0 {
			t.Fatalf("the job taken back: %d rows (%v); want none", n, err)
		}
	})
}
