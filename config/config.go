// Package config reads Steeple's typed configuration from STEEPLE_*
// environment variables and command-line flags, fills in defaults and
// validates it. It is built once in main and passed down; there is no global.
package config

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is everything Steeple reads from its environment.
type Config struct {
	// DataDir holds registry.db, tenant files and generated keys on the embedded default.
	DataDir string
	// DatabaseURL is the PostgreSQL registry; empty selects the embedded SQLite default.
	DatabaseURL string
	// TenantServers are the PostgreSQL servers tenant databases are placed on
	// (default: the registry's server).
	TenantServers []string
	// DBMaxConns is the connection budget for all tenant databases together.
	DBMaxConns int
	// DBMaxConnsPerTenant caps one tenant's share of the budget.
	DBMaxConnsPerTenant int
	// RegistryMaxConns sizes the registry pool (shared with the job queue).
	RegistryMaxConns int
	// MaxOpenTenants caps how many tenant databases (SQLite files) are open at once.
	MaxOpenTenants int
	// PoolIdleTimeout closes a tenant pool nobody has used for this long.
	PoolIdleTimeout time.Duration
	// AcquireTimeout bounds how long a request waits for a tenant connection.
	AcquireTimeout time.Duration
	// Addr is where `steeple serve` listens.
	Addr string
	// HTTP server limits against slow or greedy clients (see httpapi.Limits).
	HTTPReadHeaderTimeout    time.Duration
	HTTPReadTimeout          time.Duration
	HTTPWriteTimeout         time.Duration
	HTTPIdleTimeout          time.Duration
	HTTPMaxRequestsPerClient int // 0: no bound
	HTTPMaxWebhooksPerClient int // 0: no bound
	// LogLevel is debug, info, warn or error.
	LogLevel string
	// LogFormat is text or json.
	LogFormat string
	// KeysFile holds the encryption, blind-index and token-signing keys. On
	// the embedded default it is generated in DataDir on first run.
	KeysFile string
	// PublicURL is where people and Telnyx reach this server (links,
	// webhooks). Empty: http://Addr, with 0.0.0.0 or [::] read as 127.0.0.1
	// (see PublicBase); Validate fills it in.
	PublicURL string
	// ProcessURL is where the other processes sharing the registry reach
	// this one directly, not through a load balancer (empty: none).
	ProcessURL string
	// Plans are the limits churches can be on; DefaultPlan is a new church's.
	Plans       map[string]Plan
	DefaultPlan string
	// TelnyxAPIKey selects real Telnyx; empty runs the built-in simulator.
	TelnyxAPIKey  string
	TelnyxBaseURL string
	// TelnyxPublicKey verifies webhook signatures (base64 Ed25519).
	TelnyxPublicKey string
	// ProviderConfirmsKeywords: Telnyx answers STOP and START itself, so
	// Steeple confirms only the keywords it did not act on.
	ProviderConfirmsKeywords bool
	// SendRatePerNumber and SendRateAccount pace sending (messages per
	// second). SendRateAccount 0 sets no account-wide cap (an account whose
	// provider allows more than its numbers together send).
	SendRatePerNumber float64
	SendRateAccount   float64
	// SendRateRegistered is the per-number rate once a church's 10DLC
	// campaign is provisioned; UnregisteredDailyCap caps a church's texts
	// per day until then (0: no cap).
	SendRateRegistered   float64
	UnregisteredDailyCap int
	// NumberReleaseGrace is how long a released number stays the church's
	// (and can be restored) before it is released at the provider.
	NumberReleaseGrace time.Duration
	// DeleteGrace is how long a closed church can be restored before its
	// data is purged.
	DeleteGrace time.Duration
	// Workers is how many jobs this process runs at once.
	Workers int
	// EventWorkers is how many webhook events it applies at once, besides;
	// 0 picks by backend (EventWorkersFor).
	EventWorkers int
	// SendJobTimeout bounds one run of a send job (a chunk of 100
	// recipients); a chunk cut off is retried and resumes where it stopped.
	SendJobTimeout time.Duration
	// JobRescueAfter is how long a job may stay running before the queue
	// takes its process for dead and runs it again elsewhere: how long a
	// killed process's sends wait. It must exceed SendJobTimeout.
	JobRescueAfter time.Duration
	// OpsUser and OpsPassword guard the operators' pages (/ops/queue);
	// without a password they are not served.
	OpsUser     string
	OpsPassword string
	// SMTPURL is the mail server (smtp:// with STARTTLS, smtps:// with
	// implicit TLS); empty writes mail as .eml files under DataDir/outbox.
	SMTPURL string
	// MailFrom is the sender of Steeple's mail.
	MailFrom string
	// Signup is open, approval (an operator approves each new church) or
	// closed (only operators create churches).
	Signup string
	// SignupsPerAddress and SignupsGlobal cap signups per client address
	// and in all, per hour (0: no cap).
	SignupsPerAddress int
	SignupsGlobal     int
}

// Plan is one plan's limits (0 means no limit).
type Plan struct {
	MaxAdmins       int
	MonthlySegments int
}

// Default returns the configuration with every default filled in.
func Default() Config {
	return Config{
		DataDir:             "./steeple-data",
		DBMaxConns:          20,
		DBMaxConnsPerTenant: 4,
		RegistryMaxConns:    5,
		MaxOpenTenants:      256,
		PoolIdleTimeout:     5 * time.Minute,
		AcquireTimeout:      5 * time.Second,
		Addr:                "127.0.0.1:8080",
		// HTTP limits: keep in step with httpapi.DefaultLimits.
		HTTPReadHeaderTimeout:    10 * time.Second,
		HTTPReadTimeout:          2 * time.Minute,
		HTTPWriteTimeout:         4 * time.Minute,
		HTTPIdleTimeout:          90 * time.Second,
		HTTPMaxRequestsPerClient: 32,
		HTTPMaxWebhooksPerClient: 256,
		LogLevel:                 "info",
		LogFormat:                "text",
		Plans: map[string]Plan{
			"starter":  {MaxAdmins: 2, MonthlySegments: 2000},
			"standard": {MaxAdmins: 10, MonthlySegments: 20000},
		},
		DefaultPlan:              "standard",
		TelnyxBaseURL:            "https://api.telnyx.com/v2",
		SendRatePerNumber:        1,
		SendRateRegistered:       75,
		UnregisteredDailyCap:     200,
		NumberReleaseGrace:       30 * 24 * time.Hour,
		DeleteGrace:              30 * 24 * time.Hour,
		SendRateAccount:          50,
		Workers:                  10,
		ProviderConfirmsKeywords: true,
		SendJobTimeout:           10 * time.Minute,
		JobRescueAfter:           11 * time.Minute,
		OpsUser:                  "ops",
		MailFrom:                 "Steeple <no-reply@localhost>",
		Signup:                   "open",
		SignupsPerAddress:        5,
		SignupsGlobal:            100,
	}
}

// PublicBase is PublicURL or, when it is empty, the URL of the listen
// address: http://Addr, with an all-interfaces host (0.0.0.0, [::] or none)
// read as 127.0.0.1, the one such address sure to reach this machine.
func (c Config) PublicBase() string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	host, port, err := net.SplitHostPort(c.Addr)
	if err != nil {
		return "http://" + c.Addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// Simulated reports whether Steeple runs against its built-in Telnyx simulator.
func (c Config) Simulated() bool { return c.TelnyxAPIKey == "" }

// Postgres reports whether the PostgreSQL backend is configured.
func (c Config) Postgres() bool { return c.DatabaseURL != "" }

// setting ties one Config field to its environment variable and flag.
type setting struct {
	env, flag, usage string
	bind             func(fs *flag.FlagSet, c *Config, name, usage string)
	parse            func(c *Config, s string) error
}

func strSetting(env, fl, usage string, p func(*Config) *string) setting {
	return setting{env, fl, usage,
		func(fs *flag.FlagSet, c *Config, n, u string) { fs.StringVar(p(c), n, *p(c), u) },
		func(c *Config, s string) error { *p(c) = s; return nil }}
}

func intSetting(env, fl, usage string, p func(*Config) *int) setting {
	return setting{env, fl, usage,
		func(fs *flag.FlagSet, c *Config, n, u string) { fs.IntVar(p(c), n, *p(c), u) },
		func(c *Config, s string) error {
			v, err := strconv.Atoi(s)
			if err != nil {
				return errors.New("not a whole number")
			}
			*p(c) = v
			return nil
		}}
}

func durSetting(env, fl, usage string, p func(*Config) *time.Duration) setting {
	return setting{env, fl, usage,
		func(fs *flag.FlagSet, c *Config, n, u string) { fs.DurationVar(p(c), n, *p(c), u) },
		func(c *Config, s string) error {
			v, err := time.ParseDuration(s)
			if err != nil {
				return errors.New("not a duration such as 30s or 5m")
			}
			*p(c) = v
			return nil
		}}
}

// serversValue lets a flag fill TenantServers from a comma-separated list.
type serversValue struct{ c *Config }

func (v serversValue) String() string {
	if v.c == nil {
		return ""
	}
	return strings.Join(v.c.TenantServers, ",")
}
func (v serversValue) Set(s string) error { v.c.TenantServers = splitList(s); return nil }

var settings = []setting{
	strSetting("STEEPLE_DATA_DIR", "data-dir", "directory for registry.db, tenant files and generated keys", func(c *Config) *string { return &c.DataDir }),
	strSetting("STEEPLE_DATABASE_URL", "database-url", "PostgreSQL URL of the registry (empty: embedded SQLite)", func(c *Config) *string { return &c.DatabaseURL }),
	{"STEEPLE_TENANT_SERVERS", "tenant-servers", "comma-separated PostgreSQL URLs for tenant databases (default: the registry's server)",
		func(fs *flag.FlagSet, c *Config, n, u string) { fs.Var(serversValue{c}, n, u) },
		func(c *Config, s string) error { c.TenantServers = splitList(s); return nil }},
	intSetting("STEEPLE_DB_MAX_CONNS", "db-max-conns", "connection budget for all tenant databases together", func(c *Config) *int { return &c.DBMaxConns }),
	intSetting("STEEPLE_DB_MAX_CONNS_PER_TENANT", "db-max-conns-per-tenant", "most connections one tenant may hold", func(c *Config) *int { return &c.DBMaxConnsPerTenant }),
	intSetting("STEEPLE_REGISTRY_MAX_CONNS", "registry-max-conns", "registry pool size (shared with the job queue)", func(c *Config) *int { return &c.RegistryMaxConns }),
	intSetting("STEEPLE_MAX_OPEN_TENANTS", "max-open-tenants", "most tenant databases open at once", func(c *Config) *int { return &c.MaxOpenTenants }),
	durSetting("STEEPLE_POOL_IDLE_TIMEOUT", "pool-idle-timeout", "close a tenant pool unused for this long", func(c *Config) *time.Duration { return &c.PoolIdleTimeout }),
	durSetting("STEEPLE_ACQUIRE_TIMEOUT", "acquire-timeout", "longest wait for a tenant connection", func(c *Config) *time.Duration { return &c.AcquireTimeout }),
	strSetting("STEEPLE_ADDR", "addr", "HTTP listen address", func(c *Config) *string { return &c.Addr }),
	durSetting("STEEPLE_HTTP_READ_HEADER_TIMEOUT", "http-read-header-timeout", "longest wait for a request's headers", func(c *Config) *time.Duration { return &c.HTTPReadHeaderTimeout }),
	durSetting("STEEPLE_HTTP_READ_TIMEOUT", "http-read-timeout", "longest time to receive a whole request, body included (size it for a 20 MiB upload)", func(c *Config) *time.Duration { return &c.HTTPReadTimeout }),
	durSetting("STEEPLE_HTTP_WRITE_TIMEOUT", "http-write-timeout", "longest time from a request's headers to the end of its answer (above the read timeout)", func(c *Config) *time.Duration { return &c.HTTPWriteTimeout }),
	durSetting("STEEPLE_HTTP_IDLE_TIMEOUT", "http-idle-timeout", "close a kept-alive connection idle this long", func(c *Config) *time.Duration { return &c.HTTPIdleTimeout }),
	intSetting("STEEPLE_HTTP_MAX_REQUESTS_PER_CLIENT", "http-max-requests-per-client", "requests one client address may have in flight, webhooks apart (0: no bound)", func(c *Config) *int { return &c.HTTPMaxRequestsPerClient }),
	intSetting("STEEPLE_HTTP_MAX_WEBHOOKS_PER_CLIENT", "http-max-webhooks-per-client", "webhook requests one address may have in flight (0: no bound)", func(c *Config) *int { return &c.HTTPMaxWebhooksPerClient }),
	strSetting("STEEPLE_LOG_LEVEL", "log-level", "debug, info, warn or error", func(c *Config) *string { return &c.LogLevel }),
	strSetting("STEEPLE_LOG_FORMAT", "log-format", "text or json", func(c *Config) *string { return &c.LogFormat }),
	strSetting("STEEPLE_KEYS_FILE", "keys-file", "keys file (default on SQLite: DATA_DIR/keys.json, generated)", func(c *Config) *string { return &c.KeysFile }),
	strSetting("STEEPLE_PROCESS_URL", "process-url", "where the other steeple serve processes sharing the registry reach this one directly, to hand it a member's text for a church it is sending for (empty: nothing handed over)", func(c *Config) *string { return &c.ProcessURL }),
	strSetting("STEEPLE_PUBLIC_URL", "public-url", "base URL people and Telnyx use to reach this server (default: http://ADDR, 0.0.0.0 read as 127.0.0.1)", func(c *Config) *string { return &c.PublicURL }),
	{"STEEPLE_PLANS", "plans", "plans as name:admins=N:segments=N, comma-separated (0 = unlimited)",
		func(fs *flag.FlagSet, c *Config, n, u string) {
			fs.Func(n, u, func(s string) error { return parsePlans(c, s) })
		},
		parsePlans},
	strSetting("STEEPLE_DEFAULT_PLAN", "default-plan", "plan of a new church", func(c *Config) *string { return &c.DefaultPlan }),
	strSetting("STEEPLE_TELNYX_API_KEY", "telnyx-api-key", "Telnyx API key (empty: run the built-in simulator)", func(c *Config) *string { return &c.TelnyxAPIKey }),
	strSetting("STEEPLE_TELNYX_BASE_URL", "telnyx-base-url", "Telnyx API base URL", func(c *Config) *string { return &c.TelnyxBaseURL }),
	strSetting("STEEPLE_TELNYX_PUBLIC_KEY", "telnyx-public-key", "Telnyx webhook public key (base64)", func(c *Config) *string { return &c.TelnyxPublicKey }),
	boolSetting("STEEPLE_PROVIDER_CONFIRMS_KEYWORDS", "provider-confirms-keywords", "the provider answers STOP and START itself (Telnyx does); false: Steeple always confirms", func(c *Config) *bool { return &c.ProviderConfirmsKeywords }),
	floatSetting("STEEPLE_SEND_RATE_PER_NUMBER", "send-rate-per-number", "messages per second from one number (until registered)", func(c *Config) *float64 { return &c.SendRatePerNumber }),
	floatSetting("STEEPLE_SEND_RATE_REGISTERED", "send-rate-registered", "messages per second from one number once its church's 10DLC campaign is provisioned", func(c *Config) *float64 { return &c.SendRateRegistered }),
	intSetting("STEEPLE_UNREGISTERED_DAILY_CAP", "unregistered-daily-cap", "texts a church may send per day (in its timezone) until its 10DLC campaign is provisioned (0: no cap)", func(c *Config) *int { return &c.UnregisteredDailyCap }),
	durSetting("STEEPLE_NUMBER_RELEASE_GRACE", "number-release-grace", "how long a released number can be restored before it is released at the provider", func(c *Config) *time.Duration { return &c.NumberReleaseGrace }),
	durSetting("STEEPLE_DELETE_GRACE", "delete-grace", "how long a closed church can be restored before its data is purged", func(c *Config) *time.Duration { return &c.DeleteGrace }),
	floatSetting("STEEPLE_SEND_RATE_ACCOUNT", "send-rate-account", "messages per second for the whole provider account (0: no account-wide cap)", func(c *Config) *float64 { return &c.SendRateAccount }),
	intSetting("STEEPLE_WORKERS", "workers", "background jobs run at once by this process", func(c *Config) *int { return &c.Workers }),
	strSetting("STEEPLE_OPS_USER", "ops-user", "user name for the operators' pages (/ops/queue)", func(c *Config) *string { return &c.OpsUser }),
	strSetting("STEEPLE_OPS_PASSWORD", "ops-password", "password for the operators' pages; empty: not served", func(c *Config) *string { return &c.OpsPassword }),
	strSetting("STEEPLE_SMTP_URL", "smtp-url", "mail server, smtp://user:pass@host:port (STARTTLS when offered; ?starttls=required) or smtps:// (empty: write mail to DATA_DIR/outbox)", func(c *Config) *string { return &c.SMTPURL }),
	strSetting("STEEPLE_MAIL_FROM", "mail-from", "sender address of Steeple's mail", func(c *Config) *string { return &c.MailFrom }),
	strSetting("STEEPLE_SIGNUP", "signup", "open, approval (an operator approves new churches) or closed (only operators create churches)", func(c *Config) *string { return &c.Signup }),
	intSetting("STEEPLE_SIGNUPS_PER_ADDRESS", "signups-per-address", "signups per client address per hour (0: no cap)", func(c *Config) *int { return &c.SignupsPerAddress }),
	intSetting("STEEPLE_SIGNUPS_GLOBAL", "signups-global", "signups in all per hour (0: no cap)", func(c *Config) *int { return &c.SignupsGlobal }),
	intSetting("STEEPLE_EVENT_WORKERS", "event-workers", "webhook events applied at once by this process, and as many members' texts (0: 16 on SQLite, 4 on PostgreSQL)", func(c *Config) *int { return &c.EventWorkers }),
	durSetting("STEEPLE_SEND_JOB_TIMEOUT", "send-job-timeout", "longest run of one send job (100 recipients); then it is retried and resumes", func(c *Config) *time.Duration { return &c.SendJobTimeout }),
	durSetting("STEEPLE_JOB_RESCUE_AFTER", "job-rescue-after", "a job running this long is taken for dead (its process killed) and run again; above STEEPLE_SEND_JOB_TIMEOUT", func(c *Config) *time.Duration { return &c.JobRescueAfter }),
}

// EnvNames lists every environment variable Load reads (each may also be
// given as NAME_FILE): what a process starting another Steeple clears so
// that only the settings it means to pass reach the child.
func EnvNames() []string {
	names := make([]string, len(settings))
	for i, s := range settings {
		names[i] = s.env
	}
	return names
}

func boolSetting(env, fl, usage string, p func(*Config) *bool) setting {
	return setting{env, fl, usage,
		func(fs *flag.FlagSet, c *Config, n, u string) { fs.BoolVar(p(c), n, *p(c), u) },
		func(c *Config, s string) error {
			v, err := strconv.ParseBool(s)
			if err != nil {
				return errors.New("not true or false")
			}
			*p(c) = v
			return nil
		}}
}

func floatSetting(env, fl, usage string, p func(*Config) *float64) setting {
	return setting{env, fl, usage,
		func(fs *flag.FlagSet, c *Config, n, u string) { fs.Float64Var(p(c), n, *p(c), u) },
		func(c *Config, s string) error {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return errors.New("not a number")
			}
			*p(c) = v
			return nil
		}}
}

// parsePlans reads "starter:admins=2:segments=2000,standard:admins=10:segments=20000".
func parsePlans(c *Config, s string) error {
	plans := map[string]Plan{}
	for _, item := range splitList(s) {
		parts := strings.Split(item, ":")
		name := strings.TrimSpace(parts[0])
		if name == "" {
			return fmt.Errorf("plan %q has no name", item)
		}
		var p Plan
		for _, kv := range parts[1:] {
			k, v, ok := strings.Cut(kv, "=")
			n, err := strconv.Atoi(v)
			if !ok || err != nil || n < 0 {
				return fmt.Errorf("plan %s: %q is not key=number", name, kv)
			}
			switch k {
			case "admins":
				p.MaxAdmins = n
			case "segments":
				p.MonthlySegments = n
			default:
				return fmt.Errorf("plan %s: unknown limit %q (admins, segments)", name, k)
			}
		}
		plans[name] = p
	}
	if len(plans) == 0 {
		return errors.New("no plans")
	}
	c.Plans = plans
	return nil
}

// Load starts from the defaults, applies the environment (lookup is usually
// os.LookupEnv), and registers flags on fs that override it once fs is parsed.
// A secret setting may instead come from a file named by its *_FILE variable.
func Load(fs *flag.FlagSet, lookup func(string) (string, bool)) (*Config, error) {
	c := Default()
	for _, s := range settings {
		v, ok := lookup(s.env)
		if !ok {
			if path, okFile := lookup(s.env + "_FILE"); okFile {
				b, err := os.ReadFile(path)
				if err != nil {
					return nil, fmt.Errorf("%s_FILE: %w", s.env, err)
				}
				v, ok = strings.TrimSpace(string(b)), true
			}
		}
		if ok {
			if err := s.parse(&c, v); err != nil {
				return nil, fmt.Errorf("%s=%q: %v", s.env, v, err)
			}
		}
	}
	if fs != nil {
		for _, s := range settings {
			s.bind(fs, &c, s.flag, s.usage+" ("+s.env+")")
		}
	}
	return &c, nil
}

// SlogLevel parses LogLevel.
func (c *Config) SlogLevel() (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return 0, fmt.Errorf("STEEPLE_LOG_LEVEL: must be debug, info, warn or error, got %q", c.LogLevel)
	}
	return l, nil
}

// Servers returns the tenant servers, defaulting to the registry's server.
func (c *Config) Servers() []string {
	if len(c.TenantServers) > 0 {
		return c.TenantServers
	}
	if c.Postgres() {
		return []string{c.DatabaseURL}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
