package jobs_test

import (
	"context"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/jobs"
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

// Promote puts a waiting job back where it was inserted: a job snoozed
// until later, inserted before another, runs before it once promoted.
// Nothing to promote is reported, not an error.
func TestPromoteRestoresAJobsPlace(t *testing.T) {
	t.Parallel()
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		t.Parallel()
		ten := b.Open(t, b.Options())
		q, err := jobs.New(ten.Registry, jobs.Config{MaxWorkers: 1, PollInterval: 20 * time.Millisecond, NoPeriodicJobs: true})
		if err != nil {
			t.Fatal(err)
		}
		w := placeWorker{ran: make(chan string, 4)}
		river.AddWorker(q.Workers(), w)
		if err := q.Open(); err != nil {
			t.Fatal(err)
		}
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
