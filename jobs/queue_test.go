package jobs_test

import (
	"context"
	"testing"

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
