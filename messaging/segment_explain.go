package messaging

import (
	"strings"
	"unicode/utf8"
)

// ForcingChar is a character that makes a text UCS-2, with where it is.
type ForcingChar struct {
	// Char is the character itself.
	Char string `json:"char"`
	// Position is its index in the text, counted in characters (runes) from 0.
	Position int `json:"position"`
	// Replacement is the GSM-7 look-alike offered for it, "" when there is none.
	Replacement *string `json:"replacement"`
}

// Count explains how a text travels as SMS, so an admin can see why a
// text costs what it does and what a GSM-7 rewrite would save.
type Count struct {
	// Characters is the length in characters (runes) as the admin typed it.
	Characters int `json:"characters"`
	// Units is the length in encoding units (GSM-7 septets or UTF-16 code units).
	Units    int    `json:"units"`
	Encoding string `json:"encoding"`
	Parts    int    `json:"parts"`
	// UCS2Chars are the characters outside GSM-7, in text order; empty for a GSM-7 text.
	UCS2Chars []ForcingChar `json:"ucs2_chars"`
	// GSM is the text with every character that has a GSM-7 look-alike
	// replaced, and what it would cost; nil when the text is GSM-7 already.
	GSM *Rewrite `json:"gsm_replacement"`
}

// Rewrite is a text after look-alike replacement.
type Rewrite struct {
	Text     string `json:"text"`
	Encoding string `json:"encoding"`
	Units    int    `json:"units"`
	Parts    int    `json:"parts"`
	// Replaced is how many characters were replaced.
	Replaced int `json:"replaced"`
	// Remaining are characters that still force UCS-2 (no look-alike exists), e.g. emoji.
	Remaining []ForcingChar `json:"remaining"`
}

// gsmLookalikes maps characters outside GSM-7 to the GSM-7 text a reader
// takes for the same thing. Only characters GSM-7 lacks are listed: é, è,
// ñ, ü, ä, ö, à, Ç, É, Ä, Ö, Ñ, Ü are in GSM-7 and stay as they are.
var gsmLookalikes = map[rune]string{
	'‘': "'", '’': "'", '‚': "'", '‛': "'", '′': "'", 'ʼ': "'",
	'“': `"`, '”': `"`, '„': `"`, '‟': `"`, '″': `"`, '«': `"`, '»': `"`,
	'–': "-", '—': "-", '‒': "-", '―': "-", '‐': "-", '‑': "-", '−': "-",
	'…': "...", '\u00a0': " ", '\u2009': " ", '\u202f': " ", '\u2002': " ", '\u2003': " ",
	'•': "-", '\u00ad': "",
	'á': "a", 'â': "a", 'ã': "a", 'ā': "a",
	'í': "i", 'î': "i", 'ï': "i",
	'ó': "o", 'ô': "o", 'õ': "o",
	'ú': "u", 'û': "u",
	'ê': "e", 'ë': "e",
	'ç': "c", 'ý': "y", 'ÿ': "y",
	'Á': "A", 'À': "A", 'Â': "A", 'Ã': "A",
	'Í': "I", 'Ì': "I", 'Î': "I", 'Ï': "I",
	'Ó': "O", 'Ò': "O", 'Ô': "O", 'Õ': "O",
	'Ú': "U", 'Ù': "U", 'Û': "U",
	'È': "E", 'Ê': "E", 'Ë': "E",
	'Ý': "Y",
}

// InGSM7 reports whether r is in the GSM-7 basic or extension table.
func InGSM7(r rune) bool {
	_, ok := gsm7Width[r]
	return ok
}

// UCS2Chars lists the characters of text outside GSM-7, with their rune
// positions and look-alikes.
func UCS2Chars(text string) []ForcingChar {
	out := []ForcingChar{}
	i := 0
	for _, r := range text {
		if !InGSM7(r) {
			fc := ForcingChar{Char: string(r), Position: i}
			if rep, ok := gsmLookalikes[r]; ok {
				fc.Replacement = &rep
			}
			out = append(out, fc)
		}
		i++
	}
	return out
}

// ReplaceGSM returns text with every character that has a GSM-7
// look-alike replaced by it, and how many were replaced. Characters in
// GSM-7 are never changed.
func ReplaceGSM(text string) (string, int) {
	var b strings.Builder
	b.Grow(len(text))
	n := 0
	for _, r := range text {
		if !InGSM7(r) {
			if rep, ok := gsmLookalikes[r]; ok {
				b.WriteString(rep)
				n++
				continue
			}
		}
		b.WriteRune(r)
	}
	return b.String(), n
}

// CountText explains text: its length, encoding, parts, the characters that
// force UCS-2 and, when some have look-alikes, the GSM-7 rewrite with its parts.
func CountText(text string) Count {
	seg := Segments(text)
	c := Count{Characters: utf8.RuneCountInString(text), Units: seg.Characters,
		Encoding: seg.Encoding, Parts: seg.PerMessage, UCS2Chars: UCS2Chars(text)}
	if seg.Encoding == EncodingGSM7 {
		return c
	}
	rt, n := ReplaceGSM(text)
	if n == 0 {
		return c
	}
	rs := Segments(rt)
	c.GSM = &Rewrite{Text: rt, Encoding: rs.Encoding, Units: rs.Characters, Parts: rs.PerMessage,
		Replaced: n, Remaining: UCS2Chars(rt)}
	return c
}
