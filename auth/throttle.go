package auth

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/steeple-sms/steeple"
)

// addressLimiters limit failed logins per client address, in this process.
// (Per-email lockout lives in the registry and holds across processes.)
type addressLimiters struct {
	mu    sync.Mutex
	m     map[string]*rate.Limiter
	rate  rate.Limit
	burst int
	now   func() time.Time
}

func newAddressLimiters(perSecond float64, burst int, now func() time.Time) *addressLimiters {
	return &addressLimiters{m: map[string]*rate.Limiter{}, rate: rate.Limit(perSecond), burst: burst, now: now}
}

func (a *addressLimiters) get(addr string) *rate.Limiter {
	a.mu.Lock()
	defer a.mu.Unlock()
	l, ok := a.m[addr]
	if !ok {
		if len(a.m) > 100_000 { // bound memory: forget everyone, rarely
			a.m = map[string]*rate.Limiter{}
		}
		l = rate.NewLimiter(a.rate, a.burst)
		a.m[addr] = l
	}
	return l
}

// check refuses an address that has used up its failures.
func (a *addressLimiters) check(addr string) error {
	l := a.get(addr)
	now := a.now()
	if tokens := l.TokensAt(now); tokens < 1 {
		wait := time.Duration(math.Ceil((1-tokens)/float64(a.rate))) * time.Second
		return tooMany(wait)
	}
	return nil
}

// fail spends one of the address's failures.
func (a *addressLimiters) fail(addr string) { a.get(addr).AllowN(a.now(), 1) }

func tooMany(wait time.Duration) error {
	if wait < time.Second {
		wait = time.Second
	}
	return &steeple.Error{Code: steeple.ETOOMANY, Message: "too many failed attempts; try again later", RetryAfter: wait}
}

// checkThrottle refuses a login from a throttled address or for a locked email.
func (s *Service) checkThrottle(ctx context.Context, ip, key string) error {
	if err := s.limiters.check(ip); err != nil {
		return err
	}
	until, err := s.ten.Registry.LoginLockedUntil(ctx, key)
	if err != nil {
		return err
	}
	if !until.IsZero() {
		return tooMany(until.Sub(s.now()))
	}
	return nil
}

// recordFailure counts a failure against the address and the key.
func (s *Service) recordFailure(ctx context.Context, ip, key string) error {
	s.limiters.fail(ip)
	_, err := s.ten.Registry.RecordLoginFailure(ctx, key, s.cfg.FailureWindow, s.cfg.MaxFailures, s.cfg.Lockout)
	return err
}
