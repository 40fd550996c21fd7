package numbers_test

import (
	"testing"

	"github.com/steeple-sms/steeple/numbers"
)

// A US number is read the way people write it; anything else is refused.
func TestNormalizeNumber(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"+13125550142", "(312) 555-0142", "312.555.0142", "312-555-0142", "1 312 555 0142", "+1 (312) 555-0142", " 3125550142 "} {
		if got, err := numbers.NormalizeNumber(in); err != nil || got != "+13125550142" {
			t.Errorf("%q: %q, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "555-0142", "(312) 555-01", "+44 20 7946 0018", "(012) 555-0142", "312 155 0142", "312-555-0142 ext 4", "+1312555014a"} {
		if got, err := numbers.NormalizeNumber(in); err == nil {
			t.Errorf("%q accepted as %q", in, got)
		}
	}
}
