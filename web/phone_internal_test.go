package web

import "testing"

// Numbers are shown as the church's region writes them; others keep their
// country code; what does not parse is shown as stored.
func TestFormatPhone(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, region, want string }{
		{"+13125550142", "US", "(312) 555-0142"},
		{"+13125550142", "", "(312) 555-0142"},
		{"+14165550142", "US", "(416) 555-0142"}, // Canada shares +1: dialled the same way
		{"+442079460018", "US", "+44 20 7946 0018"},
		{"+442079460018", "GB", "020 7946 0018"},
		{"+13125550142", "GB", "+1 312-555-0142"},
		{"not a number", "US", "not a number"},
	} {
		if got := formatPhone(c.in, c.region); got != c.want {
			t.Errorf("formatPhone(%q, %q) = %q, want %q", c.in, c.region, got, c.want)
		}
	}
}
