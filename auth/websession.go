package auth

import (
	"context"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// Web sessions: the web app's sign-in, separate from the API's refresh
// tokens (concurrent page requests would race their rotation). The cookie
// value names the church, so a request finds its database in O(1), plus a
// random secret of which only a hash is stored in the church's database.
const (
	// WebIdleTimeout ends a session not used for this long.
	WebIdleTimeout = 12 * time.Hour
	// WebAbsoluteTimeout ends any session this long after sign-in.
	WebAbsoluteTimeout = 14 * 24 * time.Hour
	// webTouchEvery bounds writes: last-seen is recorded at most this often.
	webTouchEvery = time.Minute
	webPrefix     = "ws1"
)

// WebClient describes the browser a session is for.
type WebClient struct {
	IP, UserAgent string
}

// grantWeb starts a web session for the admin.
func (s *Service) grantWeb(c WebClient) grantFunc {
	return func(ctx context.Context, h *tenancy.Handle, a *store.AdminRecord, res *LoginResult) error {
		raw := opaque(webPrefix, h.TenantID())
		now := s.now()
		// Sessions that ended by time are removed as the admin signs in
		// again, so the table holds no more than the live ones and the
		// last few dead ones.
		if err := s.store.PruneWebSessions(ctx, h, a.ID, now, now.Add(-WebIdleTimeout)); err != nil {
			return err
		}
		ua := c.UserAgent
		if len(ua) > 300 {
			ua = ua[:300]
		}
		err := s.store.CreateWebSession(ctx, h, store.WebSession{IDHash: store.TokenHash(raw), AdminID: a.ID,
			PasswordMark: store.PasswordMark(a.PasswordHash), CreatedAt: now, LastSeenAt: now,
			ExpiresAt: now.Add(WebAbsoluteTimeout), IP: c.IP, UserAgent: ua})
		if err != nil {
			return err
		}
		res.WebSession = raw
		return nil
	}
}

// WebSignup is Signup for the web app: it answers with a web session
// (LoginResult.WebSession) instead of API tokens.
func (s *Service) WebSignup(ctx context.Context, req SignupRequest, c WebClient) (*steeple.Tenant, *LoginResult, error) {
	return s.signup(ctx, req, c.IP, s.grantWeb(c))
}

// WebLogin is Login for the web app, with the same throttling and lockout;
// a full sign-in answers with LoginResult.WebSession.
func (s *Service) WebLogin(ctx context.Context, req LoginRequest, c WebClient) (*LoginResult, error) {
	return s.login(ctx, req, c.IP, s.grantWeb(c))
}

// WebCompleteMFA is CompleteMFA for the web app.
func (s *Service) WebCompleteMFA(ctx context.Context, req MFARequest, c WebClient) (*LoginResult, error) {
	return s.completeMFA(ctx, req, c.IP, s.grantWeb(c))
}

// WebSessionTenant returns the church a web session cookie names, or "" if
// the value is malformed. It touches no database.
func WebSessionTenant(raw string) string { return opaqueTenant(webPrefix, raw) }

// MFATokenTenant returns the church an MFA-pending token is for (so the web
// app can tell which church is signing in). Errors: EUNAUTHORIZED.
func (s *Service) MFATokenTenant(raw string) (string, error) {
	c, err := s.tokens.parse(raw, TypeMFA)
	if err != nil {
		return "", err
	}
	return c.TenantID, nil
}

// errWebSession is the one answer for every session that cannot be used.
var errWebSession = steeple.Errorf(steeple.EUNAUTHORIZED, "your session has ended; please sign in again")

// WebSession checks a web session in its church's database (h is that
// church's handle) and returns its admin. A session ends when idle for
// WebIdleTimeout, WebAbsoluteTimeout after sign-in, when the admin is
// removed or when the admin's password changes; a suspended church is
// refused earlier, when acquiring h. Errors: EUNAUTHORIZED.
func (s *Service) WebSession(ctx context.Context, h *tenancy.Handle, raw string) (*steeple.Admin, error) {
	if WebSessionTenant(raw) != h.TenantID() {
		return nil, errWebSession
	}
	idHash := store.TokenHash(raw)
	ws, a, err := s.store.WebSessionWithAdmin(ctx, h, idHash)
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		_ = s.store.DeleteWebSession(ctx, h, idHash)
		return nil, errWebSession
	}
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !now.Before(ws.ExpiresAt) || !now.Before(ws.LastSeenAt.Add(WebIdleTimeout)) ||
		ws.PasswordMark != store.PasswordMark(a.PasswordHash) {
		if err := s.store.DeleteWebSession(ctx, h, idHash); err != nil {
			return nil, err
		}
		return nil, errWebSession
	}
	if now.Sub(ws.LastSeenAt) >= webTouchEvery {
		if err := s.store.TouchWebSession(ctx, h, idHash, now); err != nil {
			return nil, err
		}
	}
	return &a.Admin, nil
}

// WebSignOut ends one web session (or, with everywhere, all of its admin's).
func (s *Service) WebSignOut(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, raw string, everywhere bool, ip string) error {
	if everywhere {
		if _, err := s.store.DeleteAdminWebSessions(ctx, h, admin.ID); err != nil {
			return err
		}
		return s.audit(ctx, h, admin.ID, "web.sign_out_everywhere", admin.ID, ip, "")
	}
	if err := s.store.DeleteWebSession(ctx, h, store.TokenHash(raw)); err != nil {
		return err
	}
	return s.audit(ctx, h, admin.ID, "web.sign_out", admin.ID, ip, "")
}

// Language returns the admin's chosen web language ("" if none yet).
func (s *Service) Language(ctx context.Context, h *tenancy.Handle, adminID string) (string, error) {
	return s.store.AdminLanguage(ctx, h, adminID)
}

// SetLanguage stores the admin's web language. Errors: EINVALID, ENOTFOUND.
func (s *Service) SetLanguage(ctx context.Context, h *tenancy.Handle, adminID, lang string, supported []string) error {
	for _, l := range supported {
		if l == lang {
			return s.store.SetAdminLanguage(ctx, h, adminID, lang)
		}
	}
	return steeple.FieldError("language", "is not a supported language")
}

// SameChurches lists the churches named name (ignoring case and spacing)
// where email is already an admin AND password is that admin's password:
// signing up again would make a second church, which is rarely what was
// meant. Without the right password it lists nothing, so the warning never
// tells a stranger which emails run which church; it costs the same
// padded password checks as a login (loginChecks at least) whether or not
// the email is known.
func (s *Service) SameChurches(ctx context.Context, name, email, password string) ([]Church, error) {
	e, err := steeple.NormalizeEmail("email", email)
	if err != nil || password == "" {
		return nil, nil
	}
	entries, err := s.ten.Registry.LoginEntries(ctx, s.store.EmailIndexes(e)...)
	if err != nil {
		return nil, err
	}
	want := strings.Join(strings.Fields(strings.ToLower(name)), " ")
	var out []Church
	checked := 0
	for _, en := range entries {
		checked++
		t, a, _, err := s.checkAt(ctx, en, password, "")
		if err != nil {
			return nil, err
		}
		if a != nil && t.Status == steeple.TenantActive && strings.Join(strings.Fields(strings.ToLower(t.Name)), " ") == want {
			out = append(out, Church{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt})
		}
	}
	for ; checked < loginChecks; checked++ {
		s.verifyPassword(password, dummyHash)
	}
	return out, nil
}
