// Package numbers is a church's phone numbers: search, purchase, release
// and undo, with ownership enforced through the registry (a number belongs
// to exactly one church; any operation on another church's number is "not
// found"). A purchase is a chain of provider calls recorded step by step in
// the registry (number_orders), driven by a job and finished or undone by a
// recovery job after a crash or a provider failure.
package numbers

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/telnyx"
	"github.com/steeple-sms/steeple/tenancy"
)

// KindMessagingProfile names a church's messaging profile in the registry's
// provider objects.
const KindMessagingProfile = "messaging_profile"

// Config tunes number handling.
type Config struct {
	// PublicURL is where the provider posts the church's webhooks.
	PublicURL string
	// ReleaseGrace is how long a released number stays the church's (not
	// sending) before it goes back to the provider; the church may undo.
	ReleaseGrace time.Duration
	// OrderPollEvery is how often a pending provider order is looked at.
	OrderPollEvery time.Duration
	// StuckAfter is how long an order may sit without moving before the
	// recovery job drives it again.
	StuckAfter time.Duration
	// GiveUpAfter is how long an order may stay unfinished before it is
	// undone (the number released at the provider, the order failed).
	GiveUpAfter time.Duration
	// Now is the clock (time.Now if nil).
	Now func() time.Time
	// MaintainEvery is how often stuck orders and due releases are looked
	// at (default 1 minute).
	MaintainEvery time.Duration
}

// withDefaults fills what c leaves zero (ReleaseGrace 0 releases at once).
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.PublicURL == "" {
		c.PublicURL = d.PublicURL
	}
	if c.OrderPollEvery == 0 {
		c.OrderPollEvery = d.OrderPollEvery
	}
	if c.StuckAfter == 0 {
		c.StuckAfter = d.StuckAfter
	}
	if c.GiveUpAfter == 0 {
		c.GiveUpAfter = d.GiveUpAfter
	}
	if c.MaintainEvery == 0 {
		c.MaintainEvery = d.MaintainEvery
	}
	return c
}

// validate names every field that is out of range.
func (c Config) validate() error {
	fields := map[string]string{}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		fields["public_url"] = "must be an absolute http(s) URL"
	}
	if c.ReleaseGrace < 0 || c.OrderPollEvery < 0 || c.StuckAfter < 0 || c.GiveUpAfter < 0 || c.MaintainEvery < 0 {
		fields["durations"] = "may not be negative"
	}
	if len(fields) > 0 {
		return &steeple.Error{Code: steeple.EINVALID, Message: "numbers configuration is invalid", Fields: fields}
	}
	return nil
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{PublicURL: "http://127.0.0.1:8080", ReleaseGrace: 30 * 24 * time.Hour, OrderPollEvery: 2 * time.Second,
		StuckAfter: 5 * time.Minute, GiveUpAfter: 24 * time.Hour, MaintainEvery: time.Minute}
}

// Service manages churches' numbers.
type Service struct {
	ten    *tenancy.Tenancy
	store  *store.Store // for the church's audit log
	client *telnyx.Client
	queue  *jobs.Queue
	cfg    Config
	log    *slog.Logger
	// added is called when a number becomes a church's (10DLC assigns it
	// to the church's campaign).
	added func(ctx context.Context, tenantID, e164 string)
}

// NumberAdded is told when a number becomes a church's (10DLC registration
// assigns it to the church's campaign).
type NumberAdded interface {
	NumberAdded(ctx context.Context, tenantID, e164 string)
}

// New returns the service over a queue that is not open yet: it adds its
// workers and the maintenance job (every cfg.MaintainEvery) to q. added
// may be nil.
func New(ten *tenancy.Tenancy, st *store.Store, client *telnyx.Client, q *jobs.Queue, added NumberAdded, cfg Config, log *slog.Logger) (*Service, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	s := &Service{ten: ten, store: st, client: client, queue: q, cfg: cfg, log: log, added: func(context.Context, string, string) {}}
	if added != nil {
		s.added = added.NumberAdded
	}
	s.register(q.Workers())
	q.AddPeriodic(s.periodicJobs(cfg.MaintainEvery)...)
	return s, nil
}

// Available is a number the church may buy.
type Available struct {
	Number   string   `json:"number"`
	Locality string   `json:"locality,omitempty"`
	Region   string   `json:"region,omitempty"`
	Features []string `json:"features"`
}

// AvailableQuery narrows a search; every field is optional.
type AvailableQuery struct {
	AreaCode, Locality, Contains string
}

var (
	areaCode = regexp.MustCompile(`^[2-9][0-9]{2}$`)
	digits   = regexp.MustCompile(`^[0-9]{1,7}$`)
	locality = regexp.MustCompile(`^[\p{L} .'-]{1,50}$`)
	nanp     = regexp.MustCompile(`^\+1[2-9][0-9]{2}[2-9][0-9]{6}$`)
)

// Search asks the provider for US numbers that can text. Errors: EINVALID.
func (s *Service) Search(ctx context.Context, q AvailableQuery) ([]Available, error) {
	fe := map[string]string{}
	if q.AreaCode != "" && !areaCode.MatchString(q.AreaCode) {
		fe["area_code"] = "must be a 3-digit US area code"
	}
	if q.Contains != "" && !digits.MatchString(q.Contains) {
		fe["contains"] = "must be 1 to 7 digits"
	}
	if q.Locality != "" && !locality.MatchString(q.Locality) {
		fe["locality"] = "must be a city name"
	}
	if len(fe) > 0 {
		return nil, &steeple.Error{Code: steeple.EINVALID, Message: "some fields are invalid", Fields: fe}
	}
	found, err := s.client.SearchNumbers(ctx, telnyx.NumberSearch{CountryCode: "US", NationalDestinationCode: q.AreaCode,
		Locality: q.Locality, Contains: q.Contains, Features: []string{"sms"}, Limit: 20})
	if err != nil {
		return nil, providerError(err)
	}
	out := make([]Available, 0, len(found))
	for _, n := range found {
		a := Available{Number: n.PhoneNumber, Locality: n.Region("rate_center"), Region: n.Region("state"), Features: []string{}}
		for _, f := range n.Features {
			a.Features = append(a.Features, f.Name)
		}
		out = append(out, a)
	}
	return out, nil
}

// Numbers is a church's numbers and its purchases under way.
type Numbers struct {
	Numbers []*tenancy.Number      `json:"numbers"`
	Orders  []*tenancy.NumberOrder `json:"orders"`
}

// List returns the church's numbers and orders.
func (s *Service) List(ctx context.Context, tenantID string) (*Numbers, error) {
	ns, err := s.ten.Registry.ChurchNumbers(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	os, err := s.ten.Registry.ChurchNumberOrders(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	return &Numbers{Numbers: ns, Orders: os}, nil
}

// OrderOf returns one of the church's number orders, finished or not.
// Errors: ENOTFOUND, also for another church's order.
func (s *Service) OrderOf(ctx context.Context, tenantID, id string) (*tenancy.NumberOrder, error) {
	o, err := s.ten.Registry.NumberOrderByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if o.TenantID != tenantID {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "number order not found")
	}
	return o, nil
}

// ReleaseGrace is how long a released number stays the church's.
func (s *Service) ReleaseGrace() time.Duration { return s.cfg.ReleaseGrace }

// Release stops sending from the church's number at once and gives it back
// to the provider after the grace period. Errors: ENOTFOUND for a number
// the church does not own, ECONFLICT when it is being released already.
func (s *Service) Release(ctx context.Context, tenantID, raw string) (*tenancy.Number, error) {
	e164 := normalizeOrKeep(raw)
	if err := s.ten.Registry.StartRelease(ctx, tenantID, e164, s.cfg.Now().Add(s.cfg.ReleaseGrace)); err != nil {
		return nil, err
	}
	return s.ten.Registry.ChurchNumber(ctx, tenantID, e164)
}

// Restore undoes a release within the grace period. Errors: ENOTFOUND,
// ECONFLICT when the number is not being released or it is too late.
func (s *Service) Restore(ctx context.Context, tenantID, raw string) (*tenancy.Number, error) {
	e164 := normalizeOrKeep(raw)
	if err := s.ten.Registry.UndoRelease(ctx, tenantID, e164, s.cfg.Now()); err != nil {
		return nil, err
	}
	return s.ten.Registry.ChurchNumber(ctx, tenantID, e164)
}

// ReleaseDue gives back to the provider the numbers whose grace is over,
// and forgets them: another church may then buy them. It returns how many.
func (s *Service) ReleaseDue(ctx context.Context) (int, error) {
	due, err := s.ten.Registry.DueReleases(ctx, s.cfg.Now(), 100)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, n := range due {
		if err := s.releaseAtProvider(ctx, n.E164, n.ProviderID); err != nil {
			s.log.Warn("number release at the provider failed; will retry", "number", n.E164, "err", err)
			continue
		}
		if err := s.ten.Registry.ForgetNumber(ctx, n.TenantID, n.E164); err != nil {
			return done, err
		}
		done++
	}
	return done, nil
}

// releaseAtProvider gives a number back; one the account no longer has is
// fine.
func (s *Service) releaseAtProvider(ctx context.Context, e164, providerID string) error {
	if providerID == "" {
		n, err := s.providerNumber(ctx, e164)
		if err != nil || n == nil {
			return err
		}
		providerID = n.ID
	}
	err := s.client.ReleaseNumber(ctx, providerID)
	var te *telnyx.Error
	if errors.As(err, &te) && te.Status == 404 {
		return nil
	}
	return err
}

// providerNumber finds the account's number by E.164 (nil when it has none).
func (s *Service) providerNumber(ctx context.Context, e164 string) (*telnyx.PhoneNumber, error) {
	ns, err := s.client.ListNumbers(ctx, e164)
	if err != nil {
		return nil, err
	}
	for i := range ns {
		if ns[i].PhoneNumber == e164 {
			return &ns[i], nil
		}
	}
	return nil, nil
}

// Attach gives a church a number already in the provider account: an
// operator's act (`steeple numbers assign`), never a church's. The number
// must be in the account and active, and not another church's; it gets the
// church's messaging profile (so its texts and receipts reach Steeple),
// then its registry entry, then its 10DLC campaign if the church has one.
// Errors: EINVALID, ENOTFOUND (not in the account), ECONFLICT (not active,
// or another church's).
func (s *Service) Attach(ctx context.Context, tenantID, raw string) error {
	e164, err := NormalizeNumber(raw)
	if err != nil {
		return err
	}
	if owner, err := s.ten.Registry.NumberOwner(ctx, e164); err == nil && owner != tenantID {
		return steeple.Errorf(steeple.ECONFLICT, "number %s already belongs to a church", e164)
	} else if err != nil && steeple.ErrorCode(err) != steeple.ENOTFOUND {
		return err
	} else if err == nil {
		mine, err := s.ten.Registry.ChurchNumber(ctx, tenantID, e164)
		if err != nil {
			return err
		}
		if mine.State != steeple.NumberActive {
			return steeple.Errorf(steeple.ECONFLICT, "the church is releasing %s; the church can restore it (POST /api/v1/numbers/{number}/restore)", e164)
		}
	}
	n, err := s.providerNumber(ctx, e164)
	if err != nil {
		return providerError(err)
	}
	switch {
	case n == nil:
		return steeple.Errorf(steeple.ENOTFOUND, "%s is not in the provider account", e164)
	case n.Status != telnyx.NumberActive:
		return steeple.Errorf(steeple.ECONFLICT, "%s is %s at the provider, not active", e164, n.Status)
	}
	profile, err := s.ensureProfile(ctx, tenantID)
	if err != nil {
		return providerError(err)
	}
	if n.MessagingProfileID != profile {
		if _, err := s.client.UpdateNumberMessaging(ctx, n.ID, profile); err != nil {
			return providerError(err)
		}
	}
	if err := s.ten.Registry.AssignNumber(ctx, tenantID, e164, n.ID); err != nil {
		return err
	}
	if s.added != nil {
		s.added(ctx, tenantID, e164)
	}
	return nil
}

// ensureProfile returns the church's messaging profile, creating it (with
// its webhook URL pointing at Steeple) on the church's first purchase.
func (s *Service) ensureProfile(ctx context.Context, tenantID string) (string, error) {
	id, err := s.ten.Registry.ProviderObject(ctx, tenantID, KindMessagingProfile)
	if err != nil || id != "" {
		return id, err
	}
	t, err := s.ten.Registry.Tenant(ctx, tenantID)
	if err != nil {
		return "", err
	}
	p, err := s.client.CreateMessagingProfile(ctx, telnyx.MessagingProfileRequest{Name: "Steeple: " + t.Name + " (" + t.ID + ")",
		WhitelistedDestinations: []string{"US"}, WebhookURL: strings.TrimRight(s.cfg.PublicURL, "/") + "/webhooks/telnyx"})
	if err != nil {
		return "", err
	}
	// Another purchase may have created one meanwhile: the first recorded
	// is the church's (the other stays unused at the provider).
	id, err = s.ten.Registry.ClaimProviderObject(ctx, tenantID, KindMessagingProfile, p.ID)
	if err == nil && id != p.ID {
		s.log.Warn("a concurrent purchase created the church's messaging profile; this one is left unused",
			"tenant", tenantID, "unused_profile", p.ID)
	}
	return id, err
}

// providerError turns a provider failure into what a church admin should see.
func providerError(err error) error {
	var te *telnyx.Error
	if errors.As(err, &te) && !te.Retryable() && te.Status >= 400 && te.Status < 500 {
		msg := te.Detail
		if msg == "" {
			msg = te.Title
		}
		return steeple.Errorf(steeple.EINVALID, "the provider refused: %s", msg)
	}
	if telnyx.Retryable(err) {
		return &steeple.Error{Code: steeple.EUNAVAILABLE, Message: "the phone provider is not answering; try again shortly", Err: err,
			RetryAfter: 5 * time.Second}
	}
	return err
}

// NormalizeNumber reads a US number as people type it — "+13125550142",
// "(312) 555-0142", "312.555.0142", "1 312 555 0142" — and returns it in
// E.164. Errors: EINVALID.
func NormalizeNumber(raw string) (string, error) {
	n := strings.Map(func(r rune) rune {
		switch r {
		case ' ', '(', ')', '-', '.', '\u00a0':
			return -1
		}
		return r
	}, strings.TrimSpace(raw))
	switch {
	case len(n) == 10 && !strings.HasPrefix(n, "+"):
		n = "+1" + n
	case len(n) == 11 && strings.HasPrefix(n, "1"):
		n = "+" + n
	}
	if !nanp.MatchString(n) {
		return "", steeple.FieldError("number", "must be a US number, e.g. (312) 555-0142")
	}
	return n, nil
}

// normalizeOrKeep is raw in E.164 when it reads as a US number, else raw
// itself (which then matches none of the church's numbers: not found).
func normalizeOrKeep(raw string) string {
	if n, err := NormalizeNumber(raw); err == nil {
		return n
	}
	return raw
}

// register adds the purchase, recovery and release workers.
func (s *Service) register(w *river.Workers) {
	river.AddWorker(w, &orderWorker{svc: s})
	river.AddWorker(w, &maintainWorker{svc: s})
}
