package auth

import (
	"context"
	"crypto/subtle"
	"errors"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// LoginRequest is an email and password, and optionally the church chosen.
type LoginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	TenantID string `json:"tenant_id,omitempty"`
}

// Church names a church for the person to choose from.
type Church struct {
	ID   string `json:"id"`
	Name string `json:"name"`
	// CreatedAt and City (from its 10DLC profile, when given) tell apart
	// two churches of the same name.
	CreatedAt time.Time `json:"created_at"`
	City      string    `json:"city,omitempty"`
}

// LoginResult is one of: a session; an MFA challenge; or a choice of churches
// (the password was right at several and none was chosen) — never tokens
// for a church that was not the only match.
type LoginResult struct {
	Tenant      *Church
	Session     *Session
	MFARequired bool
	MFAToken    string
	Churches    []Church
	// WebSession is the web app's session cookie value (web sign-in only).
	WebSession string
	// ChoiceToken (with Churches) is a short-lived signed token naming the
	// admins whose password matched, so the web app's chooser can finish
	// the sign-in with only the church's id (see CompleteChoice).
	ChoiceToken string
}

// grantFunc gives a signed-in admin its credential: API tokens or a web
// session, written into res.
type grantFunc func(ctx context.Context, h *tenancy.Handle, a *store.AdminRecord, res *LoginResult) error

// grantAPI issues the JSON API's access and refresh tokens.
func (s *Service) grantAPI(ctx context.Context, h *tenancy.Handle, a *store.AdminRecord, res *LoginResult) error {
	var err error
	res.Session, err = s.issueSession(ctx, h, a.ID, a.Role)
	return err
}

// loginChecks is how many password checks every login costs at least.
// An email may be an admin at several churches, each with its own password,
// so a login checks one password per church; padding to this number makes an
// unknown email, and an email at one, two or three churches, cost the same.
const loginChecks = 3

// errBadLogin is the one answer for an unknown email, a wrong password and
// a suspended church, so that none can be told from the others.
var errBadLogin = steeple.Errorf(steeple.EUNAUTHORIZED, "invalid email or password")

// Login finds every church where the email is an admin (through the
// registry's blind index), checks the password in each church's own
// database, and answers per LoginResult.
func (s *Service) Login(ctx context.Context, req LoginRequest, ip string) (*LoginResult, error) {
	return s.login(ctx, req, ip, s.grantAPI)
}

func (s *Service) login(ctx context.Context, req LoginRequest, ip string, grant grantFunc) (*LoginResult, error) {
	email, err := steeple.NormalizeEmail("email", req.Email)
	if err != nil {
		return nil, err
	}
	if req.TenantID != "" && !steeple.ValidID(req.TenantID) {
		return nil, steeple.FieldError("tenant_id", "is not a church id")
	}
	key := s.store.EmailIndex(email)
	if err := s.checkThrottle(ctx, ip, key); err != nil {
		return nil, err
	}
	entries, err := s.ten.Registry.LoginEntries(ctx, s.store.EmailIndexes(email)...)
	if err != nil {
		return nil, err
	}
	type match struct {
		tenant steeple.Tenant
		admin  *store.AdminRecord
		city   string
	}
	var matches []match
	checked := 0
	for _, e := range entries {
		if req.TenantID != "" && e.TenantID != req.TenantID {
			continue
		}
		checked++
		t, a, city, err := s.checkAt(ctx, e, req.Password, ip)
		if err != nil {
			return nil, err
		}
		if a != nil {
			matches = append(matches, match{t, a, city})
		}
	}
	// The same number of password checks whether the email is unknown or an
	// admin at one, two or three churches, so the time a wrong password
	// takes does not tell them apart. (Past loginChecks churches the work
	// grows: that tells only "more than three".)
	for ; checked < loginChecks; checked++ {
		s.verifyPassword(req.Password, dummyHash)
	}
	switch {
	case len(matches) == 0:
		if err := s.recordFailure(ctx, ip, key); err != nil {
			return nil, err
		}
		return nil, errBadLogin
	case len(matches) > 1:
		res := &LoginResult{}
		var admins []string
		for _, m := range matches {
			res.Churches = append(res.Churches, Church{ID: m.tenant.ID, Name: m.tenant.Name, CreatedAt: m.tenant.CreatedAt, City: m.city})
			admins = append(admins, m.tenant.ID+":"+m.admin.ID+":"+store.PasswordMark(m.admin.PasswordHash))
		}
		res.ChoiceToken, err = s.issueChoice(matches[0].tenant.ID, key, admins)
		return res, err
	}
	_ = s.ten.Registry.ClearLoginFailures(ctx, key)
	m := matches[0]
	return s.finishLogin(ctx, m.tenant.ID, m.admin, ip, grant)
}

// finishLogin signs in an admin whose password was checked: an MFA
// challenge when it has MFA, otherwise its credential.
func (s *Service) finishLogin(ctx context.Context, tenantID string, a *store.AdminRecord, ip string, grant grantFunc) (*LoginResult, error) {
	h, err := s.ten.Manager.Acquire(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	defer h.Release()
	t := h.Tenant()
	res := &LoginResult{Tenant: &Church{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt}}
	if a.MFAEnabled {
		res.MFARequired = true
		res.MFAToken, err = s.tokens.issue(TypeMFA, a.ID, t.ID, "", MFATTL)
		return res, err
	}
	if err := s.audit(ctx, h, a.ID, "login.succeeded", a.ID, ip, ""); err != nil {
		return nil, err
	}
	return res, grant(ctx, h, a, res)
}

// ChoiceTTL is how long the web app's church chooser may take.
const ChoiceTTL = 5 * time.Minute

func (s *Service) issueChoice(tenantID, emailKey string, admins []string) (string, error) {
	now := s.now()
	c := Claims{TenantID: tenantID, Type: TypeChurchChoice, Admins: admins, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: issuer, Subject: emailKey, IssuedAt: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(ChoiceTTL)), ID: steeple.NewID()}}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.tokens.keys.SigningKey())
}

// WebCompleteChoice finishes a web sign-in whose password matched at
// several churches: choice is LoginResult.ChoiceToken (kept by the browser
// in an HttpOnly cookie, never in the page), tenantID the church chosen.
// The token works once, for ChoiceTTL, only for a church it names, and
// only while the admin's password is unchanged. Errors: EUNAUTHORIZED.
func (s *Service) WebCompleteChoice(ctx context.Context, choice, tenantID string, c WebClient) (*LoginResult, error) {
	bad := steeple.Errorf(steeple.EUNAUTHORIZED, "invalid or expired token")
	cl, err := s.tokens.parse(choice, TypeChurchChoice)
	if err != nil {
		return nil, bad
	}
	var adminID, mark string
	for _, a := range cl.Admins {
		parts := strings.SplitN(a, ":", 3)
		if len(parts) == 3 && parts[0] == tenantID {
			adminID, mark = parts[1], parts[2]
		}
	}
	if adminID == "" {
		return nil, bad
	}
	h, err := s.ten.Manager.Acquire(ctx, tenantID)
	if err != nil {
		return nil, unauthorizedIfGone(err)
	}
	a, err := s.store.Admin(ctx, h, adminID)
	if err == nil && store.PasswordMark(a.PasswordHash) != mark {
		err = bad
	}
	if err == nil {
		var fresh bool
		if fresh, err = s.store.SpendToken(ctx, h, cl.ID, cl.ExpiresAt.Time); err == nil && !fresh {
			err = bad
		}
	}
	h.Release()
	if err != nil {
		return nil, unauthorizedIfGone(err)
	}
	_ = s.ten.Registry.ClearLoginFailures(ctx, cl.Subject)
	return s.finishLogin(ctx, tenantID, a, c.IP, s.grantWeb(c))
}

// checkAt checks the password at one church. A church that cannot be
// served (suspended, deleted) still costs one password check, and answers
// no match. A wrong password is audited in that church.
func (s *Service) checkAt(ctx context.Context, e tenancy.LoginEntry, password, ip string) (steeple.Tenant, *store.AdminRecord, string, error) {
	h, err := s.ten.Manager.Acquire(ctx, e.TenantID)
	switch code := steeple.ErrorCode(err); {
	case code == "":
	case code == steeple.ESUSPENDED || code == steeple.ENOTFOUND || errors.Is(err, tenancy.ErrNotReady):
		// Not servable: the same work as a real check, and never a match.
		s.verifyPassword(password, dummyHash)
		return steeple.Tenant{}, nil, "", nil
	default:
		return steeple.Tenant{}, nil, "", err
	}
	defer h.Release()
	a, err := s.store.Admin(ctx, h, e.AdminID)
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		s.verifyPassword(password, dummyHash)
		return steeple.Tenant{}, nil, "", nil
	}
	if err != nil {
		return steeple.Tenant{}, nil, "", err
	}
	if !s.verifyPassword(password, a.PasswordHash) {
		return steeple.Tenant{}, nil, "", s.audit(ctx, h, a.ID, "login.failed", a.ID, ip, "wrong password")
	}
	city := ""
	if reg, err := s.store.Registration(ctx, h); err == nil {
		city = reg.Profile.City
	} else if steeple.ErrorCode(err) != steeple.ENOTFOUND {
		return steeple.Tenant{}, nil, "", err
	}
	return h.Tenant(), a, city, nil
}

// MFARequest completes a login with a TOTP code or a recovery code.
type MFARequest struct {
	MFAToken     string `json:"mfa_token"`
	Code         string `json:"code,omitempty"`
	RecoveryCode string `json:"recovery_code,omitempty"`
}

// CompleteMFA exchanges an MFA token and a code for a session.
func (s *Service) CompleteMFA(ctx context.Context, req MFARequest, ip string) (*LoginResult, error) {
	return s.completeMFA(ctx, req, ip, s.grantAPI)
}

func (s *Service) completeMFA(ctx context.Context, req MFARequest, ip string, grant grantFunc) (*LoginResult, error) {
	c, err := s.tokens.parse(req.MFAToken, TypeMFA)
	if err != nil {
		return nil, err
	}
	if (req.Code == "") == (req.RecoveryCode == "") {
		return nil, steeple.FieldError("code", "give either code or recovery_code")
	}
	key := "mfa:" + c.AdminID()
	if err := s.checkThrottle(ctx, ip, key); err != nil {
		return nil, err
	}
	h, err := s.ten.Manager.Acquire(ctx, c.TenantID)
	if err != nil {
		return nil, unauthorizedIfGone(err)
	}
	defer h.Release()
	a, err := s.store.Admin(ctx, h, c.AdminID())
	if err != nil {
		return nil, unauthorizedIfGone(err)
	}
	if !a.MFAEnabled {
		return nil, steeple.Errorf(steeple.EUNAUTHORIZED, "invalid or expired token")
	}
	// An MFA token is single-use: once it has bought a session it answers
	// like any invalid token.
	if spent, err := s.store.TokenSpent(ctx, h, c.ID); err != nil || spent || c.ID == "" {
		return nil, firstErr(err, steeple.Errorf(steeple.EUNAUTHORIZED, "invalid or expired token"))
	}
	ok, how, err := s.verifySecondFactor(ctx, h, a, req.Code, req.RecoveryCode)
	if err != nil {
		return nil, err
	}
	if !ok {
		if err := s.audit(ctx, h, a.ID, "login.mfa_failed", a.ID, ip, how); err != nil {
			return nil, err
		}
		if err := s.recordFailure(ctx, ip, key); err != nil {
			return nil, err
		}
		if how == "totp reused" {
			return nil, &steeple.Error{Code: steeple.EUNAUTHORIZED, Message: "this code was just used; wait for the next one",
				Fields: map[string]string{"code": "this code was just used; wait for the next one"}}
		}
		return nil, steeple.Errorf(steeple.EUNAUTHORIZED, "invalid code")
	}
	if fresh, err := s.store.SpendToken(ctx, h, c.ID, c.ExpiresAt.Time); err != nil || !fresh {
		return nil, firstErr(err, steeple.Errorf(steeple.EUNAUTHORIZED, "invalid or expired token"))
	}
	_ = s.ten.Registry.ClearLoginFailures(ctx, key)
	if err := s.audit(ctx, h, a.ID, "login.succeeded", a.ID, ip, how); err != nil {
		return nil, err
	}
	t := h.Tenant()
	res := &LoginResult{Tenant: &Church{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt}}
	return res, grant(ctx, h, a, res)
}

// verifySecondFactor checks a TOTP code (each time step accepted once) or a
// recovery code (each usable once).
func (s *Service) verifySecondFactor(ctx context.Context, h *tenancy.Handle, a *store.AdminRecord, code, recovery string) (bool, string, error) {
	if recovery != "" {
		ok, err := s.store.UseRecoveryCode(ctx, h, a.ID, store.TokenHash(normalizeRecoveryCode(recovery)))
		return ok, "recovery code", err
	}
	step, ok := matchTOTP(a.TOTPSecret, code, s.now())
	if !ok {
		return false, "totp", nil
	}
	fresh, err := s.store.UseTOTPStep(ctx, h, a.ID, step)
	if err == nil && !fresh {
		return false, "totp reused", nil
	}
	return fresh, "totp", err
}

// matchTOTP finds the time step (now ±1, for clock drift) whose code equals
// code, comparing in constant time.
func matchTOTP(secret, code string, now time.Time) (int64, bool) {
	if secret == "" || len(code) != 6 {
		return 0, false
	}
	for _, d := range []int64{0, -1, 1} {
		t := now.Add(time.Duration(d) * 30 * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / 30, true
		}
	}
	return 0, false
}

// Refresh spends a refresh token for a new access token and its successor.
// Presenting a spent token revokes its family.
func (s *Service) Refresh(ctx context.Context, refresh string) (*Session, error) {
	tenantID := opaqueTenant("rt1", refresh)
	if tenantID == "" {
		return nil, errBadRefresh(nil)
	}
	h, err := s.ten.Manager.Acquire(ctx, tenantID)
	if err != nil {
		return nil, refreshRefused(err)
	}
	defer h.Release()
	next := opaque("rt1", tenantID)
	adminID, err := s.store.RotateRefreshToken(ctx, h, store.TokenHash(refresh), store.TokenHash(next), RefreshTTL)
	if err != nil {
		return nil, refreshRefused(err)
	}
	a, err := s.store.Admin(ctx, h, adminID)
	if err != nil {
		return nil, refreshRefused(err)
	}
	access, err := s.tokens.issue(TypeAccess, a.ID, tenantID, a.Role, AccessTTL)
	if err != nil {
		return nil, err
	}
	return &Session{AccessToken: access, RefreshToken: next, ExpiresIn: int(AccessTTL.Seconds())}, nil
}

// errBadRefresh is the one answer to a refresh token that does not work,
// whatever the reason: malformed, unknown, reused, revoked, or naming a
// church that does not exist or is suspended. (cause is kept for logs only.)
func errBadRefresh(cause error) error {
	return &steeple.Error{Code: steeple.EUNAUTHORIZED, Message: "invalid refresh token", Err: cause}
}

// refreshRefused turns every "this token cannot work" cause into
// errBadRefresh; capacity and internal errors pass through.
func refreshRefused(err error) error {
	switch steeple.ErrorCode(err) {
	case steeple.ENOTFOUND, steeple.EINVALID, steeple.ESUSPENDED, steeple.EUNAUTHORIZED:
		return errBadRefresh(err)
	}
	return err
}

// Logout revokes the refresh token's whole family.
func (s *Service) Logout(ctx context.Context, refresh, ip string) error {
	tenantID := opaqueTenant("rt1", refresh)
	if tenantID == "" {
		return errBadRefresh(nil)
	}
	h, err := s.ten.Manager.Acquire(ctx, tenantID)
	if err != nil {
		return refreshRefused(err)
	}
	defer h.Release()
	adminID, err := s.store.RevokeRefreshFamily(ctx, h, store.TokenHash(refresh))
	if err != nil {
		return refreshRefused(err)
	}
	return s.audit(ctx, h, adminID, "logout", adminID, ip, "")
}

// firstErr returns err if it is not nil, else fallback.
func firstErr(err error, fallback error) error {
	if err != nil {
		return err
	}
	return fallback
}

// unauthorizedIfGone hides whether a token's church or admin exists.
func unauthorizedIfGone(err error) error {
	switch steeple.ErrorCode(err) {
	case steeple.ENOTFOUND, steeple.EINVALID, steeple.ESUSPENDED:
		return &steeple.Error{Code: steeple.EUNAUTHORIZED, Message: "invalid or expired token", Err: err}
	}
	return err
}
