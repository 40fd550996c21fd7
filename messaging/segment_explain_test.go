package messaging

import (
	"strings"
	"testing"
)

func TestCountTextExplainsUCS2(t *testing.T) {
	text := "Join us Sunday – it’s “Día de la Reforma”… Zoë, café, niño"
	c := CountText(text)
	if c.Encoding != EncodingUCS2 {
		t.Fatalf("encoding %s, want UCS-2", c.Encoding)
	}
	var got []string
	for _, f := range c.UCS2Chars {
		got = append(got, f.Char)
	}
	// é, ñ are GSM-7 and must not be listed; ë is not GSM-7.
	if want := "–’“í”…ë"; strings.Join(got, "") != want {
		t.Fatalf("forcing chars %q, want %q", strings.Join(got, ""), want)
	}
	if c.UCS2Chars[0].Position != 15 || *c.UCS2Chars[0].Replacement != "-" {
		t.Fatalf("first forcing char %+v", c.UCS2Chars[0])
	}
	if c.GSM == nil {
		t.Fatal("no GSM replacement offered")
	}
	want := `Join us Sunday - it's "Dia de la Reforma"... Zoe, café, niño`
	if c.GSM.Text != want || c.GSM.Encoding != EncodingGSM7 || c.GSM.Replaced != 7 || len(c.GSM.Remaining) != 0 {
		t.Fatalf("rewrite %+v, want %q in GSM-7", c.GSM, want)
	}
}

func TestCountTextRewriteDropsAPart(t *testing.T) {
	// 100 characters with one curly apostrophe: UCS-2 needs 2 parts, GSM-7 one.
	text := strings.Repeat("a", 99) + "’"
	c := CountText(text)
	if c.Parts != 2 || c.GSM == nil || c.GSM.Parts != 1 {
		t.Fatalf("parts %d → %+v, want 2 → 1", c.Parts, c.GSM)
	}
}

func TestCountTextKeepsWhatHasNoLookalike(t *testing.T) {
	c := CountText("Bless you 😀 – see you")
	if c.GSM == nil || c.GSM.Encoding != EncodingUCS2 || len(c.GSM.Remaining) != 1 || c.GSM.Remaining[0].Char != "😀" {
		t.Fatalf("rewrite %+v", c.GSM)
	}
	if c.UCS2Chars[0].Replacement != nil {
		t.Fatalf("emoji has no look-alike, got %q", *c.UCS2Chars[0].Replacement)
	}
	if c := CountText("plain text"); c.GSM != nil || len(c.UCS2Chars) != 0 || c.Parts != 1 {
		t.Fatalf("GSM text: %+v", c)
	}
}

func TestLookalikesAreGSMAndOnlyForNonGSM(t *testing.T) {
	for r, rep := range gsmLookalikes {
		if InGSM7(r) {
			t.Errorf("%q is GSM-7 already and must not be replaced", r)
		}
		for _, x := range rep {
			if !InGSM7(x) {
				t.Errorf("replacement for %q contains non-GSM %q", r, x)
			}
		}
	}
}
