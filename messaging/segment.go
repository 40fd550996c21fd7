package messaging

import "unicode/utf8"

// SMS encodings reported by Segments.
const (
	EncodingGSM7 = "GSM-7"
	EncodingUCS2 = "UCS-2"
)

// MaxSegments is the most parts Telnyx sends one message in.
const MaxSegments = 10

// Part sizes, in encoding units (septets for GSM-7, UTF-16 code units for
// UCS-2). A split message loses room in each part to the concatenation header.
const (
	gsm7Single = 160
	gsm7Part   = 153
	ucs2Single = 70
	ucs2Part   = 67
)

// SegmentInfo describes how a text travels as SMS.
type SegmentInfo struct {
	// Encoding is EncodingGSM7 when every character is in the GSM-7 basic or
	// extension table, else EncodingUCS2.
	Encoding string
	// Characters is the length in encoding units: GSM-7 septets (extension
	// characters count two) or UTF-16 code units (emoji and other characters
	// beyond the BMP count two).
	Characters int
	// PerMessage is the number of parts (billed segments) one recipient gets;
	// 0 for an empty text. Compare it with MaxSegments.
	PerMessage int
}

// gsm7Basic is the GSM 03.38 default alphabet (one septet each; the escape
// code itself is not a character).
const gsm7Basic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

// gsm7Extension holds the characters sent as escape + code: two septets each.
// Form feed belongs to the 03.38 extension table as well.
const gsm7Extension = "^{}\\[]~|€\f"

var gsm7Width = func() map[rune]int {
	m := make(map[rune]int, 128+10)
	for _, r := range gsm7Basic {
		m[r] = 1
	}
	for _, r := range gsm7Extension {
		m[r] = 2
	}
	return m
}()

// Segments returns the encoding, length and number of parts of text, the way
// Telnyx counts them (TELNYX.md, Segments): GSM-7 fits 160 septets in one
// part and 153 per part when split; any character outside GSM-7 makes the
// whole text UCS-2, 70 code units in one part and 67 per part. A character
// that takes two units (a GSM-7 extension character, a UTF-16 surrogate pair)
// is never split across parts: a part that would end in the middle of one
// ends before it, so such texts can need more parts than length/size.
func Segments(text string) SegmentInfo {
	widths, gsm := unitWidths(text)
	info := SegmentInfo{Encoding: EncodingGSM7}
	single, part := gsm7Single, gsm7Part
	if !gsm {
		info.Encoding, single, part = EncodingUCS2, ucs2Single, ucs2Part
	}
	for _, w := range widths {
		info.Characters += w
	}
	switch {
	case info.Characters == 0:
		info.PerMessage = 0
	case info.Characters <= single:
		info.PerMessage = 1
	default:
		info.PerMessage = countParts(widths, part)
	}
	return info
}

// unitWidths returns the width of each character of text in the encoding the
// text needs, and whether that encoding is GSM-7.
func unitWidths(text string) (widths []int, gsm bool) {
	widths = make([]int, 0, len(text))
	gsm = true
	for _, r := range text {
		w, ok := gsm7Width[r]
		if !ok {
			gsm = false
			break
		}
		widths = append(widths, w)
	}
	if gsm {
		return widths, true
	}
	widths = widths[:0]
	for _, r := range text {
		// Invalid UTF-8 decodes to U+FFFD, one unit, as it would be sent.
		widths = append(widths, utf16Units(r))
	}
	return widths, false
}

func utf16Units(r rune) int {
	if r > 0xFFFF && r <= utf8.MaxRune {
		return 2
	}
	return 1
}

// countParts packs characters greedily into parts of size units without
// splitting any character.
func countParts(widths []int, size int) int {
	parts, used := 1, 0
	for _, w := range widths {
		if used+w > size {
			parts++
			used = 0
		}
		used += w
	}
	return parts
}
