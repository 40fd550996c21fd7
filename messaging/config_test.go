package messaging

import (
	"errors"
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
)

// A zero Config is usable: the rates that pacing divides by get their
// defaults, and zero stays zero where it means something.
func TestZeroConfigGetsDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if err := c.validate(); err != nil {
		t.Fatalf("zero config with defaults is invalid: %v", err)
	}
	d := DefaultConfig()
	if c.PerNumberRate != d.PerNumberRate || c.RegisteredRate != d.RegisteredRate || c.JobTimeout != d.JobTimeout ||
		c.SweepEvery != d.SweepEvery || c.PublicURL != d.PublicURL {
		t.Fatalf("zero config got %+v; want the defaults of %+v", c, d)
	}
	for _, r := range []float64{c.PerNumberRate, c.RegisteredRate} {
		if iv := interval(r); iv <= 0 || iv > time.Minute {
			t.Fatalf("interval(%v) = %v; want a finite, positive spacing", r, iv)
		}
	}
	if c.AccountRate != 0 || c.UnregisteredDailyCap != 0 || c.SweepAge != 0 || c.CapRecheck != 0 || c.RetryBackoff != nil {
		t.Fatalf("zero config changed a field whose zero means something: %+v", c)
	}
}

func TestInvalidConfigNamesFields(t *testing.T) {
	c := DefaultConfig()
	c.PublicURL, c.PerNumberRate, c.UnregisteredDailyCap = "not a url", -1, -5
	c.RetryBackoff = []time.Duration{-time.Second}
	err := c.withDefaults().validate()
	var se *steeple.Error
	if !errors.As(err, &se) || se.Code != steeple.EINVALID {
		t.Fatalf("got %v; want an EINVALID error", err)
	}
	for _, f := range []string{"public_url", "rates", "unregistered_daily_cap", "retry_backoff"} {
		if se.Fields[f] == "" {
			t.Errorf("field %s not named in %v", f, se.Fields)
		}
	}
}
