package schedule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/messaging"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// Config tunes scheduling.
type Config struct {
	// Now is the clock schedules are read against (time.Now if nil).
	Now func() time.Time
	// MaxAhead is how far ahead a broadcast may be scheduled.
	MaxAhead time.Duration
	// TickEvery is how often due schedules are looked for (default 15 s).
	TickEvery time.Duration
}

// withDefaults fills what c leaves zero.
func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxAhead == 0 {
		c.MaxAhead = 366 * 24 * time.Hour
	}
	if c.TickEvery == 0 {
		c.TickEvery = 15 * time.Second
	}
	return c
}

// validate names every field that is out of range.
func (c Config) validate() error {
	fields := map[string]string{}
	if c.MaxAhead < 0 {
		fields["max_ahead"] = "may not be negative"
	}
	if c.TickEvery < 0 {
		fields["tick_every"] = "may not be negative"
	}
	if len(fields) > 0 {
		return &steeple.Error{Code: steeple.EINVALID, Message: "schedule configuration is invalid", Fields: fields}
	}
	return nil
}

// Service keeps churches' schedules and fires them.
type Service struct {
	ten   *tenancy.Tenancy
	store *store.Store
	msg   *messaging.Service
	queue *jobs.Queue
	cfg   Config
	log   *slog.Logger
}

// New returns the service over a queue that is not open yet: it adds its
// tick and fire workers and the tick (every cfg.TickEvery) to q.
func New(ten *tenancy.Tenancy, st *store.Store, msg *messaging.Service, q *jobs.Queue, cfg Config, log *slog.Logger) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{ten: ten, store: st, msg: msg, queue: q, cfg: cfg, log: log}
	s.register(q.Workers())
	q.AddPeriodic(s.periodicJobs(cfg.TickEvery)...)
	return s, nil
}

// Message is what a schedule sends: a broadcast request, and whether it is
// urgent (sent even in quiet hours).
type Message struct {
	messaging.BroadcastRequest
	Urgent bool `json:"urgent,omitempty"`
}

// View is a schedule as the API shows it.
type View struct {
	ID     string                 `json:"id"`
	Kind   steeple.ScheduleKind   `json:"kind"`
	Status steeple.ScheduleStatus `json:"status"`
	Name   string                 `json:"name,omitempty"`
	SendAt *time.Time             `json:"send_at,omitempty"`
	// SendAtLocal and NextAtLocal are the same instants on the church's
	// clock (RFC 3339 with its offset), beside UTC.
	SendAtLocal string                `json:"send_at_local,omitempty"`
	NextAtLocal string                `json:"next_at_local,omitempty"`
	Rule        *Rule                 `json:"rule,omitempty"`
	Timezone    string                `json:"timezone"`
	Message     Message               `json:"message"`
	NextAt      *time.Time            `json:"next_at,omitempty"`
	Upcoming    []time.Time           `json:"upcoming,omitempty"`
	Runs        []steeple.ScheduleRun `json:"runs,omitempty"`
	CreatedBy   string                `json:"created_by"`
	CreatedAt   time.Time             `json:"created_at"`
	UpdatedAt   time.Time             `json:"updated_at"`
	// Warnings, in the answer to a create or an edit only, say what may
	// keep the message from going out as meant.
	Warnings []string `json:"warnings,omitempty"`
}

func (s *Service) view(h *tenancy.Handle, sc *store.Schedule) (*View, error) {
	v := &View{ID: sc.ID, Kind: sc.Kind, Status: sc.Status, Name: sc.Name, SendAt: sc.SendAt, Timezone: h.Tenant().Timezone,
		NextAt: sc.NextAt, CreatedBy: sc.CreatedBy, CreatedAt: sc.CreatedAt, UpdatedAt: sc.UpdatedAt}
	if err := json.Unmarshal(sc.Message, &v.Message); err != nil {
		return nil, err
	}
	if len(sc.Rule) > 0 {
		v.Rule = &Rule{}
		if err := json.Unmarshal(sc.Rule, v.Rule); err != nil {
			return nil, err
		}
	}
	if sc.Status != steeple.ScheduleActive {
		v.NextAt = nil
	}
	loc := Location(h)
	v.SendAtLocal, v.NextAtLocal = localString(v.SendAt, loc), localString(v.NextAt, loc)
	return v, nil
}

// Location is the church's timezone (UTC if it names none known).
func Location(h *tenancy.Handle) *time.Location {
	if loc, err := time.LoadLocation(h.Tenant().Timezone); err == nil {
		return loc
	}
	return time.UTC
}

// check validates what a schedule will send, as a broadcast would be now
// (fields, template, audience ids), creating nothing.
// An audience with no one in it today is allowed, with a warning: it is
// resolved when the message is sent.
func (s *Service) check(ctx context.Context, h *tenancy.Handle, r Message) ([]string, error) {
	return s.msg.CheckLater(ctx, h, r.BroadcastRequest)
}

// arm records a schedule's next occurrence: in the registry first (the
// scheduler's index; a due row whose schedule never got saved fires
// nothing), then in the church's database, if the schedule is still as sc
// read it. When it is not (ECONFLICT: saved meanwhile), the registry is
// set back from the church's row, so the two agree again.
func (s *Service) arm(ctx context.Context, h *tenancy.Handle, sc *store.Schedule, o Occurrence) error {
	due := tenancy.ScheduleDue{TenantID: h.TenantID(), ScheduleID: sc.ID, Occurrence: o.Key, DueAt: o.At}
	if err := s.ten.Registry.SetScheduleDue(ctx, due); err != nil {
		return err
	}
	at := o.At.UTC()
	sc.NextKey, sc.NextAt = o.Key, &at
	err := s.store.SaveSchedule(ctx, h, sc)
	if steeple.ErrorCode(err) == steeple.ECONFLICT {
		if rerr := s.restoreDue(ctx, h, sc.ID); rerr != nil {
			return rerr
		}
	}
	if err != nil {
		return err
	}
	// Written again now that this save won: a losing arm may have written
	// the registry between the first write and the save.
	return s.ten.Registry.SetScheduleDue(ctx, due)
}

// restoreDue makes the registry's due row what the church's row says
// (unless an occurrence is being sent: its fire arms the next one).
func (s *Service) restoreDue(ctx context.Context, h *tenancy.Handle, id string) error {
	sc, err := s.store.Schedule(ctx, h, id)
	switch {
	case steeple.ErrorCode(err) == steeple.ENOTFOUND:
		return s.ten.Registry.ClearScheduleDue(ctx, h.TenantID(), id)
	case err != nil || sc.Firing != "":
		return err
	case sc.Status == steeple.ScheduleActive && sc.NextAt != nil:
		return s.ten.Registry.SetScheduleDue(ctx, tenancy.ScheduleDue{TenantID: h.TenantID(), ScheduleID: sc.ID,
			Occurrence: sc.NextKey, DueAt: *sc.NextAt})
	}
	return s.ten.Registry.ClearScheduleDue(ctx, h.TenantID(), id)
}

// disarm stops a schedule: the church's status first (if the schedule is
// still as sc read it), then the registry.
func (s *Service) disarm(ctx context.Context, h *tenancy.Handle, sc *store.Schedule, status steeple.ScheduleStatus) error {
	sc.Status = status
	if err := s.store.SaveSchedule(ctx, h, sc); err != nil {
		return err
	}
	return s.ten.Registry.ClearScheduleDue(ctx, h.TenantID(), sc.ID)
}

// editable refuses changes while an occurrence is being sent: it started
// before the change, and goes out as it was.
func editable(sc *store.Schedule) error {
	if sc.Firing != "" {
		return steeple.Errorf(steeple.ECONFLICT, "this message is being sent right now; try again in a moment")
	}
	return nil
}

// occurrenceID names the broadcast of one occurrence: firing it again
// names the same broadcast, which then already exists.
func occurrenceID(scheduleID, key string) string {
	sum := sha256.Sum256([]byte("steeple-occurrence:" + scheduleID + "|" + key))
	b := sum[:16]
	b[6] = (b[6] & 0x0f) | 0x40
	b[8] = (b[8] & 0x3f) | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only plain structs are marshalled here
	}
	return b
}

func notFound(what string) error { return steeple.Errorf(steeple.ENOTFOUND, "%s not found", what) }
