package web

import (
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
)

// Polling backs off as a broadcast ages.
func TestPollBacksOff(t *testing.T) {
	for _, c := range []struct {
		age  time.Duration
		want int
	}{{0, 2}, {90 * time.Second, 2}, {5 * time.Minute, 5}, {30 * time.Minute, 15}, {3 * time.Hour, 60}} {
		if got := pollSeconds(c.age); got != c.want {
			t.Errorf("pollSeconds(%s) = %d, want %d", c.age, got, c.want)
		}
	}
}

// Provider codes and Steeple's own details map to plain reasons.
func TestReasonOf(t *testing.T) {
	for _, c := range []struct {
		status             steeple.RecipientStatus
		code, detail, want string
	}{
		{"failed", "40310", "invalid number: Invalid 'to' address", "landline"},
		{"failed", "40001", "not routable", "landline"},
		{"failed", "40003", "spam", "blocked"},
		{"skipped", "40300", "opted out at the provider: blocked", "carrier_optout"},
		{"failed", "40006", "recipient unavailable", "unreachable"},
		{"failed", "40010", "not registered", "unregistered"},
		{"skipped", "", "stopped by Ruth", "stopped"},
		{"skipped", "", "member opted out or was removed", "opted_out"},
		{"failed", "", "the church has no number to send from", "no_number"},
		{"failed", "10011", "provider kept failing: rate limited", "provider"},
		{"failed", "40999", "something new", "other"},
	} {
		if got := reasonOf(c.status, c.code, c.detail); got != c.want {
			t.Errorf("reasonOf(%s, %s, %q) = %s, want %s", c.status, c.code, c.detail, got, c.want)
		}
	}
}
