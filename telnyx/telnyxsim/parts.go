package telnyxsim

// The simulator counts parts on its own rather than importing Steeple's
// messaging package: that package's tests use the simulator, and the
// simulator stands for Telnyx, which does its own counting. The rules are
// those of TELNYX.md (Segments).

const gsmBasic = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
	"¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"

const gsmExtension = "^{}\\[]~|€\f"

var gsmWidth = func() map[rune]int {
	m := map[rune]int{}
	for _, r := range gsmBasic {
		m[r] = 1
	}
	for _, r := range gsmExtension {
		m[r] = 2
	}
	return m
}()

// countParts returns the encoding Telnyx reports ("GSM-7" or "UCS-2") and the
// number of parts of text. encoding is the request's: "ucs2" forces UCS-2,
// "gsm7" forces GSM-7 (characters outside it count one septet, as if
// replaced), anything else picks automatically. Empty text is one part.
func countParts(text, encoding string) (string, int) {
	gsm := encoding != "ucs2"
	if encoding != "gsm7" && gsm {
		for _, r := range text {
			if _, ok := gsmWidth[r]; !ok {
				gsm = false
				break
			}
		}
	}
	var widths []int
	for _, r := range text {
		w := 1
		switch {
		case gsm:
			if gsmWidth[r] == 2 {
				w = 2
			}
		case r > 0xFFFF:
			w = 2 // a UTF-16 surrogate pair
		}
		widths = append(widths, w)
	}
	enc, single, size := "GSM-7", 160, 153
	if !gsm {
		enc, single, size = "UCS-2", 70, 67
	}
	total := 0
	for _, w := range widths {
		total += w
	}
	if total <= single {
		return enc, 1
	}
	parts, used := 1, 0
	for _, w := range widths { // a two-unit character never straddles parts
		if used+w > size {
			parts, used = parts+1, 0
		}
		used += w
	}
	return enc, parts
}
