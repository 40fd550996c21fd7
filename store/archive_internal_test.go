package store

import (
	"encoding/json"
	"strings"
	"testing"
)

// The archive's own JSON string writer reads back as encoding/json would
// have written it: quotes, controls, accents, emoji and broken UTF-8.
func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `say "hi" \ bye`, "line\nbreak\ttab\r\x00\x1f", "Zoë ñ 🙏", "<b>&</b>", "bad \xff\xfe utf8"} {
		b := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q → %s: %v", s, b, err)
		}
		want := strings.ToValidUTF8(s, "\uFFFD")
		if s == "bad \xff\xfe utf8" {
			want = "bad \uFFFD\uFFFD utf8" // one replacement a byte, as encoding/json does
		}
		if got != want {
			t.Errorf("%q read back as %q", s, got)
		}
	}
}
