// Package messaging sends a church's texts: broadcasts with their audience
// and segment count, an outbox that hands them durably to the job queue,
// and the paced send worker. Church data is reached only through tenant
// handles; jobs carry the tenant id.
package messaging

import (
	"context"
	"log/slog"
	"net"
	"net/url"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// Config tunes messaging.
type Config struct {
	// PublicURL is where the provider posts delivery receipts.
	PublicURL string
	// PerNumberRate is messages per second from one sending number (a church
	// may lower or raise its own with the send_rate setting).
	PerNumberRate float64
	// AccountRate is messages per second for the whole provider account.
	AccountRate float64
	// RegisteredRate is messages per second from a number of a church whose
	// 10DLC campaign is provisioned (PerNumberRate applies until then).
	RegisteredRate float64
	// UnregisteredDailyCap is how many texts a church not yet registered
	// may send per day, counted in the church's timezone (0: no cap); answers to STOP/START/HELP are not
	// held by it.
	UnregisteredDailyCap int
	// CapRecheck is how often a send held by the daily cap looks again
	// before the church's next day: a campaign provisioned meanwhile lifts the cap.
	CapRecheck time.Duration
	// Plans give each plan's monthly segment quota.
	Plans map[string]steeple.Plan
	// RetryBackoff are the waits between tries of one recipient inside a
	// job; after them the job itself is retried by the queue.
	RetryBackoff []time.Duration
	// SweepAge is how old an undispatched broadcast must be before the
	// recovery sweep dispatches it.
	SweepAge time.Duration
	// JobTimeout bounds one run of a send job (100 recipients); keep it
	// below the queue's RescueAfter.
	JobTimeout time.Duration
	// SweepEvery is how often the recovery sweep runs (default 1 minute).
	SweepEvery time.Duration
	// SendSlice is how long a send job works before it gives its worker
	// back, when other jobs wait, and goes to the end of the queue
	// (default 2 s; longer after a slow start, see sliceAfter): a church of
	// 20,000, paced per number, then takes turns with the churches that
	// broadcast after it instead of holding every worker until it is done.
	SendSlice time.Duration
	// TurnWait is how long a send job waits for its church's turn in this
	// process when no job wakes it (default 3 s): short, since a waiting
	// job costs the queue only a fetch and a write each time it comes
	// back. See churchTurns.
	TurnWait time.Duration
	// LookupIP resolves the host of a media URL given through the API, to
	// refuse internal addresses (nil: the system resolver).
	LookupIP func(ctx context.Context, host string) ([]net.IPAddr, error)
	// Now is the clock that says which day the daily cap counts (nil: the
	// wall clock). Pacing always runs on the wall clock.
	Now func() time.Time
}

// withDefaults fills the fields for which zero means nothing sensible (a
// zero rate would divide by zero). Zero stays zero where it has a meaning:
// AccountRate and UnregisteredDailyCap (no limit), SweepAge (sweep at
// once), CapRecheck (never look early), RetryBackoff (no retries in a job).
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.PublicURL == "" {
		c.PublicURL = d.PublicURL
	}
	if c.PerNumberRate == 0 {
		c.PerNumberRate = d.PerNumberRate
	}
	if c.RegisteredRate == 0 {
		c.RegisteredRate = d.RegisteredRate
	}
	if c.JobTimeout == 0 {
		c.JobTimeout = d.JobTimeout
	}
	if c.SendSlice == 0 {
		c.SendSlice = d.SendSlice
	}
	if c.TurnWait == 0 {
		c.TurnWait = d.TurnWait
	}
	if c.SweepEvery == 0 {
		c.SweepEvery = d.SweepEvery
	}
	return c
}

// validate names every field that is out of range.
func (c Config) validate() error {
	fields := map[string]string{}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fields["public_url"] = "must be an absolute http(s) URL"
	}
	if c.PerNumberRate < 0 || c.AccountRate < 0 || c.RegisteredRate < 0 {
		fields["rates"] = "may not be negative"
	}
	if c.UnregisteredDailyCap < 0 {
		fields["unregistered_daily_cap"] = "may not be negative"
	}
	if c.CapRecheck < 0 || c.SweepAge < 0 || c.JobTimeout < 0 || c.SweepEvery < 0 || c.SendSlice < 0 || c.TurnWait < 0 {
		fields["durations"] = "may not be negative"
	}
	for _, b := range c.RetryBackoff {
		if b < 0 {
			fields["retry_backoff"] = "may not be negative"
		}
	}
	if len(fields) > 0 {
		return &steeple.Error{Code: steeple.EINVALID, Message: "messaging configuration is invalid", Fields: fields}
	}
	return nil
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		PublicURL: "http://127.0.0.1:8080", PerNumberRate: 1, AccountRate: 50, RegisteredRate: 75,
		RetryBackoff: []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second},
		SweepAge:     30 * time.Second,
		JobTimeout:   10 * time.Minute,
		CapRecheck:   15 * time.Minute,
		SweepEvery:   time.Minute,
		SendSlice:    2 * time.Second,
		TurnWait:     3 * time.Second,
	}
}

// Service creates broadcasts and sends them.
type Service struct {
	ten      *tenancy.Tenancy
	store    *store.Store
	provider Provider
	queue    *jobs.Queue
	cfg      Config
	log      *slog.Logger
	sleep    func(context.Context, time.Duration) error
	// quietWait holds welcome texts for the church's quiet hours (nil:
	// never held).
	quietWait QuietWait
	// turns lets one send job at a time work for a church here.
	turns churchTurns
	// places are the long broadcasts keeping their place in the line.
	places churchPlaces
	// gates space this process's claims of a number's pace.
	gates numberGates
}

// QuietWait says how long a text must still wait for the church's quiet
// hours to end (0 outside them).
type QuietWait func(ctx context.Context, h *tenancy.Handle) (time.Duration, error)

// New builds the service over a queue that is not open yet: it adds its
// workers and the recovery sweep (every cfg.SweepEvery) to q. Welcome texts
// wait, when their send job runs, for as long as quiet says (nil: never
// held): checked at send time, so a welcome queued by any path (the
// recovery sweep included) is held.
func New(ten *tenancy.Tenancy, st *store.Store, p Provider, q *jobs.Queue, quiet QuietWait, cfg Config, log *slog.Logger) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{ten: ten, store: st, provider: p, queue: q, quietWait: quiet, cfg: cfg, log: log, sleep: sleepCtx}
	// A chunk holding a place marks it seen at each end of its turn,
	// which may last maxSlice.
	s.places.stale = s.maxSlice() + cfg.TurnWait
	s.turns.window = cfg.SendSlice + cfg.TurnWait
	w := q.Workers()
	river.AddWorker(w, &sendWorker{svc: s})
	river.AddWorker(w, &sweepWorker{svc: s})
	river.AddWorker(w, &replyWorker{svc: s})
	q.AddPeriodic(river.NewPeriodicJob(river.PeriodicInterval(cfg.SweepEvery),
		func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}))
	return s, nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
