package config

// Validation of a loaded configuration: every setting checked, the first
// bad one named.

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
)

// httpURL reports whether raw is an http(s) URL with a host.
func httpURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// Validate checks every setting and names the first bad one.
func (c *Config) Validate() error {
	if !c.Postgres() && c.DataDir == "" {
		return errors.New("STEEPLE_DATA_DIR: must not be empty")
	}
	if c.Postgres() {
		if err := checkPostgresURL(c.DatabaseURL); err != nil {
			return fmt.Errorf("STEEPLE_DATABASE_URL: %v", err)
		}
		for _, s := range c.TenantServers {
			if err := checkPostgresURL(s); err != nil {
				return fmt.Errorf("STEEPLE_TENANT_SERVERS: %q: %v", steeple.RedactURL(s), err)
			}
		}
	} else if len(c.TenantServers) > 0 {
		return errors.New("STEEPLE_TENANT_SERVERS: needs STEEPLE_DATABASE_URL (PostgreSQL backend)")
	}
	positive := []struct {
		name string
		v    int
	}{
		{"STEEPLE_DB_MAX_CONNS", c.DBMaxConns},
		{"STEEPLE_DB_MAX_CONNS_PER_TENANT", c.DBMaxConnsPerTenant},
		{"STEEPLE_REGISTRY_MAX_CONNS", c.RegistryMaxConns},
		{"STEEPLE_MAX_OPEN_TENANTS", c.MaxOpenTenants},
	}
	for _, p := range positive {
		if p.v < 1 {
			return fmt.Errorf("%s: must be at least 1, got %d", p.name, p.v)
		}
	}
	if c.DBMaxConnsPerTenant > c.DBMaxConns {
		return fmt.Errorf("STEEPLE_DB_MAX_CONNS_PER_TENANT: %d exceeds STEEPLE_DB_MAX_CONNS (%d)", c.DBMaxConnsPerTenant, c.DBMaxConns)
	}
	if c.RegistryMaxConns < 2 {
		return fmt.Errorf("STEEPLE_REGISTRY_MAX_CONNS: must be at least 2 (the job queue holds one), got %d", c.RegistryMaxConns)
	}
	if c.PoolIdleTimeout <= 0 {
		return errors.New("STEEPLE_POOL_IDLE_TIMEOUT: must be positive")
	}
	if c.AcquireTimeout <= 0 {
		return errors.New("STEEPLE_ACQUIRE_TIMEOUT: must be positive")
	}
	if c.Addr == "" {
		return errors.New("STEEPLE_ADDR: must not be empty")
	}
	if err := c.validateHTTP(); err != nil {
		return err
	}
	if _, ok := c.Plans[c.DefaultPlan]; !ok {
		return fmt.Errorf("STEEPLE_DEFAULT_PLAN: %q is not one of STEEPLE_PLANS", c.DefaultPlan)
	}
	c.PublicURL = c.PublicBase()
	if !httpURL(c.PublicURL) {
		return fmt.Errorf("STEEPLE_PUBLIC_URL: %q must be an http(s) URL", c.PublicURL)
	}
	c.ProcessURL = strings.TrimSuffix(c.ProcessURL, "/")
	if c.ProcessURL != "" && !httpURL(c.ProcessURL) {
		return errors.New("STEEPLE_PROCESS_URL: must be an http(s) URL with a host, such as http://10.0.0.7:8080")
	}
	if c.SendRatePerNumber <= 0 || c.SendRateRegistered <= 0 {
		return errors.New("STEEPLE_SEND_RATE_PER_NUMBER and STEEPLE_SEND_RATE_REGISTERED: must be positive")
	}
	if c.SendRateAccount < 0 {
		return errors.New("STEEPLE_SEND_RATE_ACCOUNT: must not be negative (0: no account-wide cap)")
	}
	if c.UnregisteredDailyCap < 0 {
		return errors.New("STEEPLE_UNREGISTERED_DAILY_CAP: must not be negative")
	}
	if c.NumberReleaseGrace < 0 {
		return errors.New("STEEPLE_NUMBER_RELEASE_GRACE: must not be negative")
	}
	if c.DeleteGrace < 0 {
		return errors.New("STEEPLE_DELETE_GRACE: must not be negative")
	}
	if c.Workers < 1 {
		return fmt.Errorf("STEEPLE_WORKERS: must be at least 1, got %d", c.Workers)
	}
	if c.EventWorkers < 0 {
		return fmt.Errorf("STEEPLE_EVENT_WORKERS: must be at least 1 (or 0 for the backend's default), got %d", c.EventWorkers)
	}
	if c.SendJobTimeout <= 0 {
		return errors.New("STEEPLE_SEND_JOB_TIMEOUT: must be positive")
	}
	if c.JobRescueAfter <= c.SendJobTimeout {
		return fmt.Errorf("STEEPLE_JOB_RESCUE_AFTER: %s must exceed STEEPLE_SEND_JOB_TIMEOUT (%s), or a send still running would be run twice",
			c.JobRescueAfter, c.SendJobTimeout)
	}
	if !c.Simulated() && c.TelnyxPublicKey == "" {
		return errors.New("STEEPLE_TELNYX_PUBLIC_KEY: required with STEEPLE_TELNYX_API_KEY, to verify webhooks")
	}
	if c.Postgres() && c.KeysFile == "" {
		return errors.New("STEEPLE_KEYS_FILE: required on PostgreSQL so that every process shares the keys (make one with `steeple keys generate`)")
	}
	if _, err := c.SlogLevel(); err != nil {
		return err
	}
	if err := c.validateMail(); err != nil {
		return err
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("STEEPLE_LOG_FORMAT: must be text or json, got %q", c.LogFormat)
	}
	return nil
}

// validateMail checks the mail and signup settings.
func (c *Config) validateMail() error {
	if c.SMTPURL != "" {
		u, err := url.Parse(c.SMTPURL)
		if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
			return errors.New("STEEPLE_SMTP_URL: must be smtp://user:pass@host:port or smtps://user:pass@host:port")
		}
	}
	if strings.TrimSpace(c.MailFrom) == "" {
		return errors.New("STEEPLE_MAIL_FROM: must not be empty")
	}
	switch c.Signup {
	case "open", "approval", "closed":
	default:
		return fmt.Errorf("STEEPLE_SIGNUP: must be open, approval or closed, got %q", c.Signup)
	}
	if c.SignupsPerAddress < 0 || c.SignupsGlobal < 0 {
		return errors.New("STEEPLE_SIGNUPS_PER_ADDRESS and STEEPLE_SIGNUPS_GLOBAL: must not be negative")
	}
	return nil
}

func checkPostgresURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return errors.New("not a URL")
	}
	if u.Scheme != "postgres" && u.Scheme != "postgresql" {
		return errors.New("must start with postgres://")
	}
	if u.Host == "" {
		return errors.New("names no host")
	}
	return nil
}

// validateHTTP checks the HTTP server limits.
func (c *Config) validateHTTP() error {
	for _, d := range []struct {
		name string
		v    time.Duration
	}{
		{"STEEPLE_HTTP_READ_HEADER_TIMEOUT", c.HTTPReadHeaderTimeout},
		{"STEEPLE_HTTP_READ_TIMEOUT", c.HTTPReadTimeout},
		{"STEEPLE_HTTP_WRITE_TIMEOUT", c.HTTPWriteTimeout},
		{"STEEPLE_HTTP_IDLE_TIMEOUT", c.HTTPIdleTimeout},
	} {
		if d.v <= 0 {
			return fmt.Errorf("%s: must be positive", d.name)
		}
	}
	if c.HTTPWriteTimeout <= c.HTTPReadTimeout {
		return fmt.Errorf("STEEPLE_HTTP_WRITE_TIMEOUT: %s must exceed STEEPLE_HTTP_READ_TIMEOUT (%s): it counts from the end of the headers, so it includes reading the body",
			c.HTTPWriteTimeout, c.HTTPReadTimeout)
	}
	if c.HTTPMaxRequestsPerClient < 0 || c.HTTPMaxWebhooksPerClient < 0 {
		return errors.New("STEEPLE_HTTP_MAX_REQUESTS_PER_CLIENT and STEEPLE_HTTP_MAX_WEBHOOKS_PER_CLIENT: must not be negative (0: no bound)")
	}
	return nil
}
