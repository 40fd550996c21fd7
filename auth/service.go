package auth

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/mail"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// Config tunes the account service.
type Config struct {
	// Plans give each plan's limits (admins per church).
	Plans map[string]steeple.Plan
	// PublicURL is where invitation links point.
	PublicURL string
	// Login throttling: after MaxFailures failed logins for one email within
	// FailureWindow the email is locked for Lockout; each client address may
	// fail PerAddressBurst times, refilled at PerAddressRate per second.
	MaxFailures     int
	FailureWindow   time.Duration
	Lockout         time.Duration
	PerAddressBurst int
	PerAddressRate  float64
	// Mail sends verification links and invitations.
	Mail mail.Sender
	// Logger reports mail that could not be sent (never the link).
	Logger *slog.Logger
	// SignupMode is SignupOpen, SignupApproval or SignupClosed.
	SignupMode string
	// SignupsPerAddress and SignupsGlobal cap signups per hour (0: no cap).
	SignupsPerAddress int
	SignupsGlobal     int
	// UnregisteredMaxNumbers is how many numbers a church may hold before
	// its 10DLC campaign is provisioned (0: no cap).
	UnregisteredMaxNumbers int
}

// DefaultConfig returns the documented defaults.
func DefaultConfig() Config {
	return Config{
		PublicURL:   "http://127.0.0.1:8080",
		MaxFailures: 5, FailureWindow: 15 * time.Minute, Lockout: 15 * time.Minute,
		PerAddressBurst: 20, PerAddressRate: 20.0 / 60,
		SignupMode: SignupOpen, SignupsPerAddress: 5, SignupsGlobal: 100, UnregisteredMaxNumbers: 1,
	}
}

// Service runs accounts: it reaches church data only through tenant handles.
type Service struct {
	ten      *tenancy.Tenancy
	store    *store.Store
	keys     *secret.Keys
	tokens   tokens
	cfg      Config
	now      func() time.Time
	limiters *addressLimiters
	// passwordChecks counts argon2id verifications (see verifyPassword).
	passwordChecks atomic.Int64
	signups        *signupLimiter
	resends        *addressLimiters
	forgots        *addressLimiters // password reset mails per email
}

// New builds the service.
func New(ten *tenancy.Tenancy, st *store.Store, keys *secret.Keys, cfg Config, now func() time.Time) *Service {
	if now == nil {
		now = time.Now
	}
	if cfg.Mail == nil {
		cfg.Mail = noMail{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.SignupMode == "" {
		cfg.SignupMode = SignupOpen
	}
	return &Service{ten: ten, store: st, keys: keys, tokens: tokens{keys: keys, now: now}, cfg: cfg, now: now,
		limiters: newAddressLimiters(cfg.PerAddressRate, cfg.PerAddressBurst, now),
		signups:  newSignupLimiter(cfg.SignupsPerAddress, cfg.SignupsGlobal, now),
		resends:  newAddressLimiters(3.0/3600, 3, now),
		forgots:  newAddressLimiters(3.0/3600, 3, now)}
}

// mailFailed logs a mail that could not be sent; the error names the
// transport and the recipient's domain, never the link.
func (s *Service) mailFailed(kind string, err error) {
	s.cfg.Logger.Warn("mail not sent", "kind", kind, "err", err)
}

// noMail refuses to send: a service built without a transport cannot mail
// links, and says so rather than dropping them.
type noMail struct{}

func (noMail) Send(context.Context, mail.Message) error {
	return steeple.Errorf(steeple.EINTERNAL, "no mail transport configured")
}

// Session is what a successful login gives.
type Session struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int    `json:"expires_in"` // seconds until the access token expires
}

// SignupRequest is a new church and its first admin (the owner).
type SignupRequest struct {
	Church struct {
		Name     string `json:"name"`
		Timezone string `json:"timezone"`
	} `json:"church"`
	Admin struct {
		Name     string `json:"name"`
		Email    string `json:"email"`
		Password string `json:"password"`
	} `json:"admin"`
}

// Signup provisions a church with its owner and logs the owner in. A failure
// part-way removes the church and its login entry, so a retry with the same
// email or name is never blocked.
func (s *Service) Signup(ctx context.Context, req SignupRequest, ip string) (*steeple.Tenant, *Session, error) {
	t, res, err := s.signup(ctx, req, ip, s.grantAPI)
	if err != nil {
		return t, nil, err
	}
	return t, res.Session, nil
}

func (s *Service) signup(ctx context.Context, req SignupRequest, ip string, grant grantFunc) (*steeple.Tenant, *LoginResult, error) {
	if s.cfg.SignupMode == SignupClosed {
		return nil, nil, steeple.Errorf(steeple.EFORBIDDEN, "signups are closed on this server: ask its operator to create your church")
	}
	fe := fieldErrors{}
	name := strings.TrimSpace(req.Church.Name)
	if name == "" {
		fe.add("church.name", "is required")
	} else if len([]rune(name)) > 100 {
		fe.add("church.name", "must be at most 100 characters")
	}
	if tz := strings.TrimSpace(req.Church.Timezone); tz == "" || tz == "Local" {
		fe.add("church.timezone", "is required, as an IANA name such as America/Chicago")
	} else if _, err := time.LoadLocation(tz); err != nil {
		fe.add("church.timezone", "is not a known IANA time zone")
	}
	adminName := strings.TrimSpace(req.Admin.Name)
	if adminName == "" {
		fe.add("admin.name", "is required")
	} else if len([]rune(adminName)) > 100 {
		fe.add("admin.name", "must be at most 100 characters")
	}
	email, err := steeple.NormalizeEmail("admin.email", req.Admin.Email)
	fe.add("admin.email", steeple.FieldMessage(err, "admin.email"))
	fe.add("admin.password", ValidatePassword(req.Admin.Password, email, name))
	if err := fe.err(); err != nil {
		return nil, nil, err
	}
	if err := s.signups.allow(ip); err != nil {
		return nil, nil, err
	}
	hash, err := HashPassword(req.Admin.Password)
	if err != nil {
		return nil, nil, err
	}
	var owner *steeple.Admin
	var verifyToken string
	t, err := s.ten.Provisioner.Provision(ctx, tenancy.NewTenant{Name: name, Timezone: strings.TrimSpace(req.Church.Timezone),
		Setup: func(ctx context.Context, h *tenancy.Handle) error {
			owner, err = s.store.CreateAdmin(ctx, h, store.NewAdmin{Name: adminName, Email: email, PasswordHash: hash, Role: steeple.RoleOwner})
			if err != nil {
				return err
			}
			if err := s.store.Audit(ctx, h, store.AuditEntry{ActorID: owner.ID, Action: "church.signup", Target: owner.ID, IP: ip}); err != nil {
				return err
			}
			if err := s.store.CreateGate(ctx, h, owner.ID, s.cfg.SignupMode == SignupApproval); err != nil {
				return err
			}
			if verifyToken, err = s.newVerification(ctx, h, owner.ID); err != nil {
				return err
			}
			return s.ten.Registry.AddLogin(ctx, s.store.EmailIndex(email), h.TenantID(), owner.ID)
		}})
	if err != nil {
		return nil, nil, err
	}
	h, err := s.ten.Manager.Acquire(ctx, t.ID)
	if err != nil {
		return nil, nil, err
	}
	res := &LoginResult{Tenant: &Church{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt}}
	err = grant(ctx, h, &store.AdminRecord{Admin: *owner, PasswordHash: hash}, res)
	h.Release()
	if err != nil {
		return nil, nil, err
	}
	// Mailed after the church's connection is released. A failure does not
	// undo the signup: the owner can ask for another link.
	if err := s.mailVerification(ctx, email, name, verifyToken); err != nil {
		s.mailFailed("verification", err)
	}
	return t, res, nil
}

// issueSession makes an access token and a new refresh-token family.
func (s *Service) issueSession(ctx context.Context, h *tenancy.Handle, adminID string, role steeple.Role) (*Session, error) {
	access, err := s.tokens.issue(TypeAccess, adminID, h.TenantID(), role, AccessTTL)
	if err != nil {
		return nil, err
	}
	refresh := opaque("rt1", h.TenantID())
	if err := s.store.SaveRefreshToken(ctx, h, store.TokenHash(refresh), steeple.NewID(), adminID, RefreshTTL); err != nil {
		return nil, err
	}
	return &Session{AccessToken: access, RefreshToken: refresh, ExpiresIn: int(AccessTTL.Seconds())}, nil
}

// Authenticate checks an access token and returns its claims. It does not
// touch the church's database; the HTTP layer acquires the handle next and
// checks the admin still exists. Errors: EUNAUTHORIZED.
func (s *Service) Authenticate(raw string) (*Claims, error) {
	return s.tokens.parse(raw, TypeAccess)
}

// Caller is the admin behind an authenticated request.
func (s *Service) Caller(ctx context.Context, h *tenancy.Handle, c *Claims) (*steeple.Admin, error) {
	a, err := s.store.Admin(ctx, h, c.AdminID())
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		return nil, steeple.Errorf(steeple.EUNAUTHORIZED, "invalid or expired token")
	}
	if err != nil {
		return nil, err
	}
	return &a.Admin, nil
}

// audit records an action; a failure to audit is logged by the caller's
// error path, never silently dropped. detail must hold no personal data.
func (s *Service) audit(ctx context.Context, h *tenancy.Handle, actor, action, target, ip, detail string) error {
	return s.store.Audit(ctx, h, store.AuditEntry{ActorID: actor, Action: action, Target: target, IP: ip, Detail: detail})
}

// auditPersonal records an action with personal data (an email), which the
// store seals: no audit row holds personal data in plaintext.
func (s *Service) auditPersonal(ctx context.Context, h *tenancy.Handle, actor, action, target, ip, personal string) error {
	return s.store.Audit(ctx, h, store.AuditEntry{ActorID: actor, Action: action, Target: target, IP: ip, Personal: personal})
}
