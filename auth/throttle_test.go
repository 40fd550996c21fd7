package auth

import (
	"testing"
	"time"

	"github.com/steeple-sms/steeple"
)

func TestAddressLimiters(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	l := newAddressLimiters(1.0/60, 2, func() time.Time { return now })
	for range 2 {
		if err := l.check("10.0.0.1"); err != nil {
			t.Fatal(err)
		}
		l.fail("10.0.0.1")
	}
	err := l.check("10.0.0.1")
	var e *steeple.Error
	if steeple.ErrorCode(err) != steeple.ETOOMANY || !asError(err, &e) || e.RetryAfter != time.Minute {
		t.Fatalf("after the burst: %v; want too_many with RetryAfter 1m", err)
	}
	if err := l.check("10.0.0.2"); err != nil {
		t.Fatalf("another address is limited too: %v", err)
	}
	now = now.Add(59 * time.Second)
	if err := l.check("10.0.0.1"); steeple.ErrorCode(err) != steeple.ETOOMANY {
		t.Fatalf("refilled early: %v", err)
	}
	now = now.Add(time.Second)
	if err := l.check("10.0.0.1"); err != nil {
		t.Fatalf("not refilled after a minute: %v", err)
	}
}

func TestTooManyWaitsAtLeastASecond(t *testing.T) {
	var e *steeple.Error
	if err := tooMany(10 * time.Millisecond); !asError(err, &e) || e.RetryAfter != time.Second {
		t.Fatalf("tooMany(10ms) = %v", err)
	}
}

func asError(err error, target **steeple.Error) bool {
	e, ok := err.(*steeple.Error)
	*target = e
	return ok
}
