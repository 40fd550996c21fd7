package messaging

import (
	"strings"
	"testing"
)

func TestSegments(t *testing.T) {
	const (
		ucs   = "Ж" // outside GSM-7, one UTF-16 unit
		emoji = "😀" // outside the BMP: a surrogate pair, two units
	)
	a := func(n int) string { return strings.Repeat("a", n) }
	u := func(n int) string { return strings.Repeat(ucs, n) }
	tests := []struct {
		name  string
		text  string
		enc   string
		chars int
		parts int
	}{
		{"empty", "", EncodingGSM7, 0, 0},
		{"one char", "a", EncodingGSM7, 1, 1},
		{"GSM 160 fits one part", a(160), EncodingGSM7, 160, 1},
		{"GSM 161 splits in two", a(161), EncodingGSM7, 161, 2},
		{"GSM 306 is 153x2", a(306), EncodingGSM7, 306, 2},
		{"GSM 307 needs a third part", a(307), EncodingGSM7, 307, 3},
		{"GSM 1530 is ten parts", a(1530), EncodingGSM7, 1530, 10},
		{"GSM 1531 is eleven parts", a(1531), EncodingGSM7, 1531, 11},
		{"GSM basic accents", "@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¡ÄÖÑÜ§¿äöñüà\r\n", EncodingGSM7, 43, 1},
		{"euro counts two", "€", EncodingGSM7, 2, 1},
		{"all extension chars count two", "^{}\\[]~|€", EncodingGSM7, 18, 1},
		{"extension char ending at 160", a(158) + "€", EncodingGSM7, 160, 1},
		{"extension char crossing 160", a(159) + "€", EncodingGSM7, 161, 2},
		{"extension char fits part end", a(151) + "[" + a(153), EncodingGSM7, 306, 2},
		// 152 + 2 would end part one mid-character: "[" moves to part two (2+151),
		// and the last "a" needs a third part although 306 = 153x2.
		{"extension char not split at 153", a(152) + "[" + a(152), EncodingGSM7, 306, 3},
		{"extension chars only, 153 = 76.5 pairs", strings.Repeat("|", 153), EncodingGSM7, 306, 3},
		{"UCS-2 70 fits one part", u(70), EncodingUCS2, 70, 1},
		{"UCS-2 71 splits in two", u(71), EncodingUCS2, 71, 2},
		{"UCS-2 134 is 67x2", u(134), EncodingUCS2, 134, 2},
		{"UCS-2 135 needs a third part", u(135), EncodingUCS2, 135, 3},
		{"one non-GSM char switches everything", a(69) + "’", EncodingUCS2, 70, 1},
		{"GSM text of 71 with one non-GSM char", a(70) + "’", EncodingUCS2, 71, 2},
		{"extension char in UCS-2 counts one", u(69) + "€", EncodingUCS2, 70, 1},
		{"emoji counts two", emoji, EncodingUCS2, 2, 1},
		{"emoji ending at 70", u(68) + emoji, EncodingUCS2, 70, 1},
		{"emoji crossing 70", u(69) + emoji, EncodingUCS2, 71, 2},
		{"emoji fits part end", u(65) + emoji + u(67), EncodingUCS2, 134, 2},
		// 66 + 2 would split the surrogate pair: it moves to part two.
		{"emoji not split at 67", u(66) + emoji + u(66), EncodingUCS2, 134, 3},
		{"35 emoji fit one part", strings.Repeat(emoji, 35), EncodingUCS2, 70, 1},
		{"67 emoji need three parts of 33", strings.Repeat(emoji, 67), EncodingUCS2, 134, 3},
		{"invalid UTF-8 is UCS-2", "a\xffb", EncodingUCS2, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Segments(tt.text)
			want := SegmentInfo{Encoding: tt.enc, Characters: tt.chars, PerMessage: tt.parts}
			if got != want {
				t.Fatalf("Segments = %+v, want %+v", got, want)
			}
		})
	}
}

// TestSegmentsPartsAreFullAndWhole cuts texts into parts by hand, rune by
// rune, and checks Segments agrees: every part within 153 septets, every part
// as full as it can be without taking half of the next character.
func TestSegmentsPartsAreFullAndWhole(t *testing.T) {
	for n := 140; n < 330; n++ {
		for _, text := range []string{
			strings.Repeat("a", n) + "{}" + strings.Repeat("b", n%7),
			strings.Repeat("ab€", n/3+1),
			strings.Repeat("~", n),
		} {
			info := Segments(text)
			if info.Encoding != EncodingGSM7 || info.Characters <= gsm7Single {
				continue
			}
			var parts []string
			var cur strings.Builder
			used := 0
			for _, r := range text {
				w := 1
				if strings.ContainsRune(gsm7Extension, r) {
					w = 2
				}
				if used+w > gsm7Part {
					parts = append(parts, cur.String())
					cur.Reset()
					used = 0
				}
				cur.WriteRune(r)
				used += w
			}
			parts = append(parts, cur.String())
			if len(parts) != info.PerMessage || strings.Join(parts, "") != text {
				t.Fatalf("n=%d: %d parts by hand, Segments says %d", n, len(parts), info.PerMessage)
			}
			for i, p := range parts {
				units := Segments(p).Characters
				if units > gsm7Part || units == 0 {
					t.Fatalf("n=%d: part %d has %d septets", n, i, units)
				}
				if i+1 < len(parts) && units+Segments(string([]rune(parts[i+1])[0])).Characters <= gsm7Part {
					t.Fatalf("n=%d: part %d (%d septets) could hold the next character", n, i, units)
				}
			}
		}
	}
}
