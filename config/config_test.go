package config

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func lookup(env map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestDefaultsAreValid(t *testing.T) {
	c, err := Load(nil, lookup(nil))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.DBMaxConns != 20 || c.RegistryMaxConns != 5 || c.MaxOpenTenants != 256 || c.Addr != "127.0.0.1:8080" || c.DataDir != "./steeple-data" || c.Postgres() {
		t.Fatalf("unexpected defaults %+v", c)
	}
}

func TestEnvironmentThenFlags(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	c, err := Load(fs, lookup(map[string]string{
		"STEEPLE_DB_MAX_CONNS":         "12",
		"STEEPLE_DATABASE_URL":         "postgres://u@db1:5432/reg",
		"STEEPLE_TENANT_SERVERS":       "postgres://u@db1:5432/postgres, postgres://u@db2:5432/postgres",
		"STEEPLE_ACQUIRE_TIMEOUT":      "2s",
		"STEEPLE_KEYS_FILE":            "/etc/steeple/keys.json",
		"STEEPLE_PLANS":                "small:admins=1:segments=100,big:admins=0",
		"STEEPLE_DEFAULT_PLAN":         "small",
		"STEEPLE_NUMBER_RELEASE_GRACE": "72h",
		"STEEPLE_DELETE_GRACE":         "240h",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := fs.Parse([]string{"--db-max-conns", "15", "--addr", ":9000"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.Plans["small"] != (Plan{MaxAdmins: 1, MonthlySegments: 100}) || c.Plans["big"] != (Plan{}) || len(c.Plans) != 2 {
		t.Fatalf("plans %+v", c.Plans)
	}
	if c.DBMaxConns != 15 || c.Addr != ":9000" || len(c.Servers()) != 2 || c.AcquireTimeout != 2*time.Second ||
		c.NumberReleaseGrace != 72*time.Hour || c.DeleteGrace != 240*time.Hour {
		t.Fatalf("got %+v", c)
	}
}

func TestBadSettingsAreNamed(t *testing.T) {
	cases := map[string]map[string]string{
		"STEEPLE_DB_MAX_CONNS":                 {"STEEPLE_DB_MAX_CONNS": "0"},
		"STEEPLE_DB_MAX_CONNS_PER_TENANT":      {"STEEPLE_DB_MAX_CONNS_PER_TENANT": "30"},
		"STEEPLE_DATABASE_URL":                 {"STEEPLE_DATABASE_URL": "mysql://x"},
		"STEEPLE_TENANT_SERVERS":               {"STEEPLE_TENANT_SERVERS": "postgres://db2/x"},
		"STEEPLE_LOG_LEVEL":                    {"STEEPLE_LOG_LEVEL": "loud"},
		"STEEPLE_LOG_FORMAT":                   {"STEEPLE_LOG_FORMAT": "xml"},
		"STEEPLE_REGISTRY_MAX_CONNS":           {"STEEPLE_REGISTRY_MAX_CONNS": "1"},
		"STEEPLE_KEYS_FILE":                    {"STEEPLE_DATABASE_URL": "postgres://db1/reg"},
		"STEEPLE_DEFAULT_PLAN":                 {"STEEPLE_DEFAULT_PLAN": "gold"},
		"STEEPLE_PLANS":                        {"STEEPLE_PLANS": "x:admins=many"},
		"STEEPLE_PUBLIC_URL":                   {"STEEPLE_PUBLIC_URL": "ftp://x"},
		"STEEPLE_PROCESS_URL":                  {"STEEPLE_PROCESS_URL": "10.0.0.7:8080"},
		"STEEPLE_NUMBER_RELEASE_GRACE":         {"STEEPLE_NUMBER_RELEASE_GRACE": "-1h"},
		"STEEPLE_DELETE_GRACE":                 {"STEEPLE_DELETE_GRACE": "-1h"},
		"STEEPLE_HTTP_WRITE_TIMEOUT":           {"STEEPLE_HTTP_READ_TIMEOUT": "5m", "STEEPLE_HTTP_WRITE_TIMEOUT": "5m"},
		"STEEPLE_HTTP_READ_TIMEOUT":            {"STEEPLE_HTTP_READ_TIMEOUT": "0s"},
		"STEEPLE_HTTP_IDLE_TIMEOUT":            {"STEEPLE_HTTP_IDLE_TIMEOUT": "-1s"},
		"STEEPLE_HTTP_MAX_REQUESTS_PER_CLIENT": {"STEEPLE_HTTP_MAX_REQUESTS_PER_CLIENT": "-1"},
		"STEEPLE_SMTP_URL":                     {"STEEPLE_SMTP_URL": "http://mail.example.org"},
		"STEEPLE_MAIL_FROM":                    {"STEEPLE_MAIL_FROM": " "},
		"STEEPLE_SIGNUP":                       {"STEEPLE_SIGNUP": "sometimes"},
		"STEEPLE_SIGNUPS_PER_ADDRESS":          {"STEEPLE_SIGNUPS_PER_ADDRESS": "-1"},
		"STEEPLE_SEND_RATE_ACCOUNT":            {"STEEPLE_SEND_RATE_ACCOUNT": "-1"},
		"STEEPLE_SEND_JOB_TIMEOUT":             {"STEEPLE_SEND_JOB_TIMEOUT": "0s"},
		"STEEPLE_JOB_RESCUE_AFTER":             {"STEEPLE_SEND_JOB_TIMEOUT": "20s", "STEEPLE_JOB_RESCUE_AFTER": "20s"},
	}
	for want, env := range cases {
		c, err := Load(nil, lookup(env))
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: error %v should name %s", env, err, want)
		}
	}
	if _, err := Load(nil, lookup(map[string]string{"STEEPLE_POOL_IDLE_TIMEOUT": "soon"})); err == nil || !strings.Contains(err.Error(), "STEEPLE_POOL_IDLE_TIMEOUT") {
		t.Errorf("unparseable duration: %v", err)
	}
}

// STEEPLE_PUBLIC_URL follows STEEPLE_ADDR (or --addr) unless set itself;
// an all-interfaces address is reached at 127.0.0.1.
func TestPublicURLFollowsAddr(t *testing.T) {
	for _, c := range []struct {
		env   map[string]string
		flags []string
		want  string
	}{
		{nil, nil, "http://127.0.0.1:8080"},
		{map[string]string{"STEEPLE_ADDR": "127.0.0.1:9000"}, nil, "http://127.0.0.1:9000"},
		{map[string]string{"STEEPLE_ADDR": "0.0.0.0:9000"}, nil, "http://127.0.0.1:9000"},
		{map[string]string{"STEEPLE_ADDR": "[::]:9000"}, nil, "http://127.0.0.1:9000"},
		{map[string]string{"STEEPLE_ADDR": ":9000"}, nil, "http://127.0.0.1:9000"},
		{map[string]string{"STEEPLE_ADDR": "[::1]:9000"}, nil, "http://[::1]:9000"},
		{map[string]string{"STEEPLE_ADDR": "10.0.0.5:9000"}, nil, "http://10.0.0.5:9000"},
		{nil, []string{"--addr", "127.0.0.1:7000"}, "http://127.0.0.1:7000"},
		{map[string]string{"STEEPLE_ADDR": "0.0.0.0:9000", "STEEPLE_PUBLIC_URL": "https://text.grace.org"}, nil, "https://text.grace.org"},
		{map[string]string{"STEEPLE_ADDR": "0.0.0.0:9000"}, []string{"--public-url", "https://x.example.org"}, "https://x.example.org"},
	} {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		cfg, err := Load(fs, lookup(c.env))
		if err != nil {
			t.Fatal(err)
		}
		if err := fs.Parse(c.flags); err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Fatalf("%v %v: %v", c.env, c.flags, err)
		}
		if cfg.PublicURL != c.want {
			t.Errorf("%v %v: PublicURL %q; want %q", c.env, c.flags, cfg.PublicURL, c.want)
		}
	}
}

// A process that crashed hands its jobs on sooner when the operator says so,
// and an account-wide cap of 0 means none; both read as given.
func TestRescueAndAccountRateSettings(t *testing.T) {
	c, err := Load(nil, lookup(map[string]string{"STEEPLE_SEND_JOB_TIMEOUT": "20s", "STEEPLE_JOB_RESCUE_AFTER": "30s",
		"STEEPLE_SEND_RATE_ACCOUNT": "0"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.SendJobTimeout != 20*time.Second || c.JobRescueAfter != 30*time.Second || c.SendRateAccount != 0 {
		t.Fatalf("got timeout %v, rescue %v, account rate %v", c.SendJobTimeout, c.JobRescueAfter, c.SendRateAccount)
	}
	d := Default()
	if d.SendJobTimeout != 10*time.Minute || d.JobRescueAfter != 11*time.Minute {
		t.Fatalf("defaults changed: timeout %v, rescue %v", d.SendJobTimeout, d.JobRescueAfter)
	}
	names := strings.Join(EnvNames(), " ")
	for _, want := range []string{"STEEPLE_DATABASE_URL", "STEEPLE_JOB_RESCUE_AFTER", "STEEPLE_EVENT_WORKERS"} {
		if !strings.Contains(names, want) {
			t.Errorf("EnvNames lacks %s: %s", want, names)
		}
	}
}

// Unset, the event workers follow the backend; a setting is kept on either.
func TestEventWorkersByBackend(t *testing.T) {
	for _, tc := range []struct {
		env  map[string]string
		want int
	}{
		{nil, 16},
		{map[string]string{"STEEPLE_DATABASE_URL": "postgres://u@db1:5432/reg"}, 4},
		{map[string]string{"STEEPLE_EVENT_WORKERS": "6"}, 6},
		{map[string]string{"STEEPLE_EVENT_WORKERS": "6", "STEEPLE_DATABASE_URL": "postgres://u@db1:5432/reg"}, 6},
	} {
		c, err := Load(nil, lookup(tc.env))
		if err != nil {
			t.Fatal(err)
		}
		if got := EventWorkersFor(c.EventWorkers, c.Postgres()); got != tc.want {
			t.Errorf("%v: %d event workers, want %d", tc.env, got, tc.want)
		}
	}
	c, err := Load(nil, lookup(map[string]string{"STEEPLE_EVENT_WORKERS": "-1"}))
	if err == nil {
		err = c.Validate()
	}
	if err == nil || !strings.Contains(err.Error(), "STEEPLE_EVENT_WORKERS") {
		t.Fatalf("-1 event workers: %v", err)
	}
}
