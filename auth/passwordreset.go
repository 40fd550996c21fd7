package auth

import (
	"context"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/mail"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// PasswordResetTTL is how long a password reset link works.
const PasswordResetTTL = time.Hour

// forgotMailTimeout bounds the background sending of reset links.
const forgotMailTimeout = time.Minute

// errResetLink is the one answer for a reset link that cannot be used.
var errResetLink = steeple.Errorf(steeple.ENOTFOUND, "reset link not found, expired or already used")

// ForgotPassword mails a password reset link for each church where email
// is an admin (passwords are per church, so each link names its church and
// resets the password there only). The answer is the same whether or not
// the email is known: the links are mailed in the background, after the
// answer, and a malformed email is the only error. At most three requests
// per email an hour send mail; more are answered the same and send nothing.
// The links are never logged.
func (s *Service) ForgotPassword(ctx context.Context, rawEmail, ip string) error {
	email, err := steeple.NormalizeEmail("email", rawEmail)
	if err != nil {
		return err
	}
	if err := s.limiters.check(ip); err != nil {
		return err
	}
	key := s.store.EmailIndex(email)
	if lim := s.forgots.get(key); !lim.AllowN(s.now(), 1) {
		return nil
	}
	entries, err := s.ten.Registry.LoginEntries(ctx, s.store.EmailIndexes(email)...)
	if err != nil {
		return err
	}
	type link struct{ church, token string }
	var links []link
	for _, e := range entries {
		h, err := s.ten.Manager.Acquire(ctx, e.TenantID)
		if err != nil {
			continue // suspended or gone: no link
		}
		a, err := s.store.Admin(ctx, h, e.AdminID)
		if err != nil {
			h.Release()
			continue
		}
		tok, err := s.issueReset(a.ID, h.TenantID(), store.PasswordMark(a.PasswordHash))
		if err == nil {
			err = s.audit(ctx, h, a.ID, "admin.password_reset_requested", a.ID, ip, "")
		}
		church := h.Tenant().Name
		h.Release()
		if err != nil {
			return err
		}
		links = append(links, link{church, tok})
	}
	if len(links) == 0 {
		return nil
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), forgotMailTimeout)
		defer cancel()
		for _, l := range links {
			if err := s.mailReset(ctx, email, l.church, l.token); err != nil {
				s.mailFailed("password reset", err)
			}
		}
	}()
	return nil
}

func (s *Service) issueReset(adminID, tenantID, mark string) (string, error) {
	now := s.now()
	c := Claims{TenantID: tenantID, Type: TypePasswordReset, Mark: mark, RegisteredClaims: jwt.RegisteredClaims{
		Issuer: issuer, Subject: adminID, IssuedAt: jwt.NewNumericDate(now),
		ExpiresAt: jwt.NewNumericDate(now.Add(PasswordResetTTL)), ID: steeple.NewID()}}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(s.tokens.keys.SigningKey())
}

func (s *Service) mailReset(ctx context.Context, to, church, token string) error {
	link := s.link("/password/reset", token)
	return s.cfg.Mail.Send(ctx, mail.Message{To: to,
		Subject: "Reset your Steeple password for " + church + " / Restablecer su contraseña",
		Text: "Someone (we hope you) asked to reset your password for " + church + " on Steeple. Open this link to choose a new one (it works once, for 1 hour):\n\n" +
			link + "\n\nIf you did not ask, ignore this mail: your password stays as it is.\n\n" +
			"Alguien (esperamos que usted) pidió restablecer su contraseña de " + church + " en Steeple. Abra este enlace para elegir una nueva (funciona una vez, durante 1 hora):\n\n" +
			link + "\n\nSi no lo pidió, ignore este correo.\n"})
}

// ResetTarget tells which church and email a reset link is for, without
// spending it (for the reset page). Errors: ENOTFOUND for a link that is
// unknown, expired, used or altered.
func (s *Service) ResetTarget(ctx context.Context, token string) (*Church, string, error) {
	c, err := s.tokens.parse(token, TypePasswordReset)
	if err != nil {
		return nil, "", errResetLink
	}
	var church *Church
	var email string
	err = s.withReset(ctx, c, func(h *tenancy.Handle, a *store.AdminRecord) error {
		t := h.Tenant()
		church, email = &Church{ID: t.ID, Name: t.Name}, a.Email
		return nil
	})
	return church, email, err
}

// withReset runs fn with the church and admin of a parsed reset token that
// is still usable (unspent, and the password is the one it was issued for).
func (s *Service) withReset(ctx context.Context, c *Claims, fn func(*tenancy.Handle, *store.AdminRecord) error) error {
	h, err := s.ten.Manager.Acquire(ctx, c.TenantID)
	if err != nil {
		if code := steeple.ErrorCode(err); code == steeple.ENOTFOUND || code == steeple.ESUSPENDED || code == steeple.EINVALID {
			return errResetLink
		}
		return err
	}
	defer h.Release()
	a, err := s.store.Admin(ctx, h, c.AdminID())
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		return errResetLink
	}
	if err != nil {
		return err
	}
	if spent, err := s.store.TokenSpent(ctx, h, c.ID); err != nil || spent || c.ID == "" || c.Mark != store.PasswordMark(a.PasswordHash) {
		return firstErr(err, errResetLink)
	}
	return fn(h, a)
}

// ResetPassword sets a new password from a reset link. The link works
// once; the admin's web sessions and API refresh tokens end. Errors:
// ENOTFOUND for an unusable link; EINVALID (field "password") for a weak
// password, which leaves the link usable.
func (s *Service) ResetPassword(ctx context.Context, token, password, ip string) (*Church, error) {
	c, err := s.tokens.parse(token, TypePasswordReset)
	if err != nil {
		return nil, errResetLink
	}
	if len(password) > 256 {
		return nil, steeple.FieldError("password", "must be at most 256 bytes")
	}
	var church *Church
	err = s.withReset(ctx, c, func(h *tenancy.Handle, a *store.AdminRecord) error {
		if msg := ValidatePassword(password, a.Email, h.Tenant().Name); msg != "" {
			return steeple.FieldError("password", msg)
		}
		hash, err := HashPassword(password)
		if err != nil {
			return err
		}
		if fresh, err := s.store.SpendToken(ctx, h, c.ID, c.ExpiresAt.Time); err != nil || !fresh {
			return firstErr(err, errResetLink)
		}
		if err := s.store.SetAdminPassword(ctx, h, a.ID, hash); err != nil {
			return err
		}
		_ = s.ten.Registry.ClearLoginFailures(ctx, s.store.EmailIndex(a.Email))
		t := h.Tenant()
		church = &Church{ID: t.ID, Name: t.Name}
		return s.audit(ctx, h, a.ID, "admin.password_reset", a.ID, ip, "")
	})
	return church, err
}

// ChangePasswordRequest is a signed-in admin's password change.
type ChangePasswordRequest struct {
	Current string `json:"current"`
	New     string `json:"new"`
}

// ChangePassword changes the caller's password after checking the current
// one (throttled like a login). Every other web session and API refresh
// token of the admin ends; the answer carries fresh API tokens so the
// caller stays signed in. Errors: EINVALID (fields "current", "new"),
// ETOOMANY.
func (s *Service) ChangePassword(ctx context.Context, h *tenancy.Handle, caller *steeple.Admin, req ChangePasswordRequest, ip string) (*LoginResult, error) {
	return s.changePassword(ctx, h, caller, req, ip, s.grantAPI)
}

// WebChangePassword is ChangePassword for the web app: the answer carries
// a new web session for this browser.
func (s *Service) WebChangePassword(ctx context.Context, h *tenancy.Handle, caller *steeple.Admin, req ChangePasswordRequest, c WebClient) (*LoginResult, error) {
	return s.changePassword(ctx, h, caller, req, c.IP, s.grantWeb(c))
}

func (s *Service) changePassword(ctx context.Context, h *tenancy.Handle, caller *steeple.Admin, req ChangePasswordRequest, ip string, grant grantFunc) (*LoginResult, error) {
	fe := fieldErrors{}
	if req.Current == "" {
		fe.add("current", "is required")
	}
	if req.New == "" {
		fe.add("new", "is required")
	}
	if err := fe.err(); err != nil {
		return nil, err
	}
	key := "pw:" + caller.ID
	if err := s.checkThrottle(ctx, ip, key); err != nil {
		return nil, err
	}
	a, err := s.store.Admin(ctx, h, caller.ID)
	if err != nil {
		return nil, err
	}
	if !s.verifyPassword(req.Current, a.PasswordHash) {
		if err := s.audit(ctx, h, a.ID, "admin.password_change_failed", a.ID, ip, "wrong password"); err != nil {
			return nil, err
		}
		if err := s.recordFailure(ctx, ip, key); err != nil {
			return nil, err
		}
		return nil, steeple.FieldError("current", "is not your current password")
	}
	if req.New == req.Current {
		return nil, steeple.FieldError("new", "must differ from your current password")
	}
	if msg := ValidatePassword(req.New, a.Email, h.Tenant().Name); msg != "" {
		return nil, steeple.FieldError("new", msg)
	}
	hash, err := HashPassword(req.New)
	if err != nil {
		return nil, err
	}
	if err := s.store.SetAdminPassword(ctx, h, a.ID, hash); err != nil {
		return nil, err
	}
	_ = s.ten.Registry.ClearLoginFailures(ctx, key)
	if err := s.audit(ctx, h, a.ID, "admin.password_changed", a.ID, ip, ""); err != nil {
		return nil, err
	}
	a.PasswordHash = hash
	t := h.Tenant()
	res := &LoginResult{Tenant: &Church{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt}}
	return res, grant(ctx, h, a, res)
}
