package jobs_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple/internal/testkit"
	"github.com/steeple-sms/steeple/jobs"
)

// records keeps every log record's level and message.
type records struct {
	mu  sync.Mutex
	got map[string]slog.Level
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.got[rec.Message] = rec.Level
	return nil
}
func (r *records) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r *records) WithGroup(string) slog.Handler      { return r }

func (r *records) levels() map[string]slog.Level {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]slog.Level{}
	for k, v := range r.got {
		out[k] = v
	}
	return out
}

// River's routine INFO lines ("River client started", job counts…) reach
// Steeple's log at DEBUG; nothing River says arrives at INFO.
func TestRiverRoutineLogsAtDebug(t *testing.T) {
	testkit.ForEachBackend(t, func(t *testing.T, b *testkit.Backend) {
		ten := b.Open(t, b.Options())
		rec := &records{got: map[string]slog.Level{}}
		q, err := jobs.New(ten.Registry, jobs.Config{MaxWorkers: 1, Logger: slog.New(rec)})
		if err != nil {
			t.Fatal(err)
		}
		river.AddWorker(q.Workers(), noopWorker{})
		if err := q.Open(); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if err := q.Start(ctx); err != nil {
			t.Fatal(err)
		}
		testkit.WaitUntil(t, 10*time.Second, func() bool { _, ok := rec.levels()["River client started"]; return ok }, "River's start line")
		sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := q.Stop(sctx); err != nil {
			t.Fatal(err)
		}
		got := rec.levels()
		if got["River client started"] != slog.LevelDebug {
			t.Errorf("River client started at %v; want DEBUG", got["River client started"])
		}
		for msg, l := range got {
			if l == slog.LevelInfo {
				t.Errorf("River logged %q at INFO", msg)
			}
		}
	})
}
