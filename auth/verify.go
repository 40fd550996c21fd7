package auth

import (
	"context"
	"math"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/mail"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// VerificationTTL is how long an email verification link works.
const VerificationTTL = 24 * time.Hour

// Signup modes (STEEPLE_SIGNUP).
const (
	SignupOpen     = "open"
	SignupApproval = "approval"
	SignupClosed   = "closed"
)

// signupLimiter caps signups per client address and in all, per hour, in
// this process.
type signupLimiter struct {
	perAddress *addressLimiters
	global     *rate.Limiter
	now        func() time.Time
	mu         sync.Mutex
}

func newSignupLimiter(perAddress, global int, now func() time.Time) *signupLimiter {
	l := &signupLimiter{now: now}
	if perAddress > 0 {
		l.perAddress = newAddressLimiters(float64(perAddress)/3600, perAddress, now)
	}
	if global > 0 {
		l.global = rate.NewLimiter(rate.Limit(float64(global)/3600), global)
	}
	return l
}

// allow spends one signup for ip, or says how long to wait.
func (l *signupLimiter) allow(ip string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if l.perAddress != nil {
		lim := l.perAddress.get(ip)
		if !lim.AllowN(now, 1) {
			return tooManySignups(lim, now, "from this address")
		}
	}
	if l.global != nil && !l.global.AllowN(now, 1) {
		return tooManySignups(l.global, now, "right now")
	}
	return nil
}

func tooManySignups(lim *rate.Limiter, now time.Time, where string) error {
	wait := time.Duration(math.Ceil((1-lim.TokensAt(now))/float64(lim.Limit()))) * time.Second
	return &steeple.Error{Code: steeple.ETOOMANY, Message: "too many signups " + where + "; try again later", RetryAfter: max(wait, time.Second)}
}

func (s *Service) link(path, token string) string {
	return strings.TrimRight(s.cfg.PublicURL, "/") + path + "?token=" + url.QueryEscape(token)
}

// newVerification stores a new single-use link for admin and returns its
// token; the caller mails it after releasing the handle.
func (s *Service) newVerification(ctx context.Context, h *tenancy.Handle, adminID string) (string, error) {
	token := opaque("ev1", h.TenantID())
	if err := s.store.CreateEmailVerification(ctx, h, adminID, store.TokenHash(token), VerificationTTL); err != nil {
		return "", err
	}
	return token, nil
}

func (s *Service) mailVerification(ctx context.Context, to, church, token string) error {
	link := s.link("/verify-email", token)
	return s.cfg.Mail.Send(ctx, mail.Message{To: to,
		Subject: "Verify your email for " + church + " on Steeple / Verifique su correo",
		Text: "Welcome to Steeple. Open this link to verify your email address for " + church + " (it works once, for 24 hours):\n\n" +
			link + "\n\nUntil then the church cannot buy a number, text members or invite admins.\n\n" +
			"Bienvenido a Steeple. Abra este enlace para verificar su correo (funciona una vez, durante 24 horas):\n\n" + link + "\n"})
}

// VerifyEmail spends a verification token. Errors: ENOTFOUND for a token
// that is unknown, expired, used or altered.
func (s *Service) VerifyEmail(ctx context.Context, token, ip string) (*Church, error) {
	notFound := steeple.Errorf(steeple.ENOTFOUND, "verification link not found, expired or already used")
	tenantID := opaqueTenant("ev1", token)
	if tenantID == "" {
		return nil, notFound
	}
	h, err := s.ten.Manager.Acquire(ctx, tenantID)
	if err != nil {
		if c := steeple.ErrorCode(err); c == steeple.ENOTFOUND || c == steeple.ESUSPENDED {
			return nil, notFound
		}
		return nil, err
	}
	defer h.Release()
	adminID, err := s.store.VerifyEmail(ctx, h, store.TokenHash(token))
	if err != nil {
		return nil, err
	}
	if err := s.audit(ctx, h, adminID, "admin.email_verified", adminID, ip, ""); err != nil {
		return nil, err
	}
	return &Church{ID: tenantID, Name: h.Tenant().Name}, nil
}

// ResendVerification mails a new link to the admin who must verify. The
// handle is released before mailing. Errors: ECONFLICT when already
// verified; EFORBIDDEN for another admin.
func (s *Service) ResendVerification(ctx context.Context, h *tenancy.Handle, caller *steeple.Admin, ip string) (func(context.Context) error, error) {
	g, err := s.store.ChurchGate(ctx, h)
	if err != nil {
		return nil, err
	}
	if g.VerifiedAt != nil {
		return nil, steeple.Errorf(steeple.ECONFLICT, "your email address is already verified")
	}
	if g.AdminID != caller.ID {
		return nil, steeple.Errorf(steeple.EFORBIDDEN, "only the admin who signed up can verify the church's email")
	}
	if lim := s.resends.get(caller.ID); !lim.AllowN(s.now(), 1) {
		return nil, &steeple.Error{Code: steeple.ETOOMANY, Message: "a link was sent a moment ago; check your inbox (and spam folder) or try again later", RetryAfter: 10 * time.Minute}
	}
	token, err := s.newVerification(ctx, h, caller.ID)
	if err != nil {
		return nil, err
	}
	if err := s.audit(ctx, h, caller.ID, "admin.verification_resent", caller.ID, ip, ""); err != nil {
		return nil, err
	}
	to, church := caller.Email, h.Tenant().Name
	return func(ctx context.Context) error { return s.mailVerification(ctx, to, church, token) }, nil
}

// RequireOpenGate refuses what a church may do only once its email is
// verified (and, with STEEPLE_SIGNUP=approval, an operator approved it):
// buy a number, text members, invite admins. Errors: EFORBIDDEN with what
// to do.
func (s *Service) RequireOpenGate(ctx context.Context, h *tenancy.Handle) error {
	g, err := s.store.ChurchGate(ctx, h)
	if err != nil {
		return err
	}
	if g.VerifiedAt == nil {
		to := "the address you signed up with"
		if a, err := s.store.Admin(ctx, h, g.AdminID); err == nil {
			to = a.Email
		}
		return steeple.Errorf(steeple.EFORBIDDEN, "verify your email address first: we sent a link to %s (POST /api/v1/auth/verify-email/resend sends another)", to)
	}
	if g.AwaitingApproval && g.ApprovedAt == nil {
		return steeple.Errorf(steeple.EFORBIDDEN, "your church is waiting for an operator's approval; you will be able to do this once it is approved")
	}
	return nil
}

// ChurchGate returns what the church still has to do.
func (s *Service) ChurchGate(ctx context.Context, h *tenancy.Handle) (*store.Gate, error) {
	return s.store.ChurchGate(ctx, h)
}

// CheckNumberOrder refuses a number purchase the church may not make yet:
// before its gate is open, and a second number before its 10DLC campaign
// is provisioned (UnregisteredMaxNumbers).
func (s *Service) CheckNumberOrder(ctx context.Context, h *tenancy.Handle) error {
	if err := s.RequireOpenGate(ctx, h); err != nil {
		return err
	}
	max := s.cfg.UnregisteredMaxNumbers
	if max <= 0 {
		return nil
	}
	reg, err := s.store.Registration(ctx, h)
	if err == nil && reg.Status == steeple.RegProvisioned {
		return nil
	}
	if err != nil && steeple.ErrorCode(err) != steeple.ENOTFOUND {
		return err
	}
	// Orders are read before numbers: an order finishing in between is then
	// counted twice (refused, safe), never missed (a second number let in).
	orders, err := s.ten.Registry.ChurchNumberOrders(ctx, h.TenantID())
	if err != nil {
		return err
	}
	held, err := s.ten.Registry.ChurchNumbers(ctx, h.TenantID())
	if err != nil {
		return err
	}
	n := len(held)
	for _, o := range orders {
		if o.Step != tenancy.OrderDone && o.Step != tenancy.OrderFailed { // under way: the number is not in held yet
			n++
		}
	}
	if n >= max {
		return steeple.Errorf(steeple.EFORBIDDEN, "a church not yet registered for 10DLC may hold %d number(s): register (POST /api/v1/registration) to add more", max)
	}
	return nil
}

// ApproveChurch records an operator's approval of a church that signed up
// under STEEPLE_SIGNUP=approval.
func (s *Service) ApproveChurch(ctx context.Context, tenantID string) error {
	h, err := s.ten.Manager.Acquire(ctx, tenantID)
	if err != nil {
		return err
	}
	defer h.Release()
	if err := s.store.ApproveChurch(ctx, h); err != nil {
		return err
	}
	return s.audit(ctx, h, "operator", "church.approved", tenantID, "", "")
}
