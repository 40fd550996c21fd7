package inbox

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/steeple-sms/steeple/store"
)

// keywords are recognised only as the whole text, ignoring case and the
// spaces around and inside it: "stop" is one, "stop it" is not.
var keywords = map[string]string{
	"START": store.KeywordStart, "UNSTOP": store.KeywordStart, "YES": store.KeywordStart,
	"HELP": store.KeywordHelp, "INFO": store.KeywordHelp,
}

// stopWords are the opt-out words carriers honour and the FCC's 2025 rule
// names, with their Spanish equivalents. Unlike the other keywords they
// act whatever surrounds them: punctuation and emoji ("Stop.", "stop!!",
// " STOP 🙏") do not make a wish to stop any less clear.
var stopWords = map[string]bool{
	"STOP": true, "STOPALL": true, "STOP ALL": true, "UNSUBSCRIBE": true, "CANCEL": true, "END": true, "QUIT": true,
	"REVOKE": true, "OPT OUT": true, "OPTOUT": true,
	"ALTO": true, "PARAR": true, "CANCELAR": true, "BAJA": true,
}

// A text that is not a keyword but reads like a wish to opt out is flagged
// for an admin rather than acted on or ignored: a text opening with "stop"
// ("stop please"), or an opt-out phrase ("please stop texting me", "take
// me off the list", "don’t text me" — phones type a curly apostrophe;
// "no me manden más mensajes"). Bare "stop", "cancel" or "quit" inside a
// sentence ("can you stop by the office?", "cancel my RSVP") is ordinary
// church talk and is not flagged.
var (
	startsWithStop = regexp.MustCompile(`(?i)^\W*(please\W+)?stop\b`)
	optOutPhrase   = regexp.MustCompile(`(?i)\b(stop (it|texting|messaging|sending|contacting|the texts|these texts|the messages|these messages)|` +
		`unsubscribe|opt[\s-]?out|revoke|remove me|take me off|no more (texts|messages)|(do not|don['’]?t) (text|message|contact)|` +
		`quit (texting|messaging|sending|these|the|this)|cancel (my )?(subscription|texts|messages))\b`)
	optOutPhraseES = regexp.MustCompile(`(?i)(\bdar(me|nos)? de baja\b|\bno (me |nos )?(env[ií]e[ns]?|manden?|escrib[ae]n?)\b|` +
		`\bya no (quiero|deseo)\b)`)
)

// Classify returns the keyword a text is ("" when none) and, for a text
// that only looks like an opt-out, store.FlagPossibleOptOut.
func Classify(text string) (keyword, flag string) {
	norm := strings.ToUpper(strings.Join(strings.Fields(text), " "))
	if k, ok := keywords[norm]; ok {
		return k, ""
	}
	if stopWords[stopCore(text)] {
		return store.KeywordStop, ""
	}
	if startsWithStop.MatchString(text) || optOutPhrase.MatchString(text) || optOutPhraseES.MatchString(text) {
		return "", store.FlagPossibleOptOut
	}
	return "", ""
}

// stopCore is a text without what surrounds its words (punctuation, emoji,
// spaces), upper-cased, its inner spaces and dashes made single spaces:
// "  Opt-out! 🙏" is "OPT OUT".
func stopCore(text string) string {
	word := func(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }
	core := strings.TrimFunc(text, func(r rune) bool { return !word(r) })
	core = strings.Map(func(r rune) rune {
		if r == '-' || r == '_' || unicode.IsSpace(r) {
			return ' '
		}
		return r
	}, core)
	return strings.ToUpper(strings.Join(strings.Fields(core), " "))
}
