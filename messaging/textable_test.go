package messaging

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/steeple-sms/steeple/members"
)

// textable caches NotTextable per seven-digit +1 prefix: the answer must
// not depend on the last three digits.
func TestNotTextableDependsOnlyOnNANPPrefix(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	npas := []string{"312", "415", "212", "416", "604", "787", "340", "671", "876", "242", "809", "900", "800", "555", "011", "199"}
	for _, region := range []string{"US", "CA"} {
		for range 300 {
			prefix := fmt.Sprintf("+1%s%04d", npas[r.IntN(len(npas))], r.IntN(10000))
			want := members.NotTextable(prefix+"000", region)
			for _, tail := range []string{"999", fmt.Sprintf("%03d", r.IntN(1000))} {
				if got := members.NotTextable(prefix+tail, region); got != want {
					t.Fatalf("%s: %s%s gives %q but %s000 gives %q", region, prefix, tail, got, prefix, want)
				}
			}
		}
	}
	if _, ok := nanpPrefix("+4420718387"); ok {
		t.Fatal("a non-+1 number has no NANP prefix")
	}
	if k, ok := nanpPrefix("+13125550142"); !ok || k != "+13125550" {
		t.Fatalf("prefix %q %v", k, ok)
	}
}
