package inbox

import (
	"regexp"
	"strings"

	"github.com/steeple-sms/steeple/store"
)

// Keywords are recognised only as the whole text, ignoring case and the
// spaces around and inside it: "stop" is one, "stop it" is not.
var keywords = map[string]string{
	"STOP": store.KeywordStop, "STOPALL": store.KeywordStop, "STOP ALL": store.KeywordStop,
	"UNSUBSCRIBE": store.KeywordStop, "CANCEL": store.KeywordStop, "END": store.KeywordStop, "QUIT": store.KeywordStop,
	"START": store.KeywordStart, "UNSTOP": store.KeywordStart, "YES": store.KeywordStart,
	"HELP": store.KeywordHelp, "INFO": store.KeywordHelp,
}

// A text that is not a keyword but reads like a wish to opt out is flagged
// for an admin rather than acted on or ignored: a keyword with punctuation
// ("Stop!", "UNSUBSCRIBE."), a text opening with "stop" ("stop please"),
// or an opt-out phrase ("please stop texting
// me", "take me off the list", "don’t text me" — phones type a curly
// apostrophe). Bare "stop", "cancel" or "quit" inside a sentence ("can you
// stop by the office?", "cancel my RSVP") is ordinary church talk and is
// not flagged. "Revoke" is among the words the FCC counts as revoking consent.
var (
	punctuatedKeyword = regexp.MustCompile(`(?i)^\W*(stop|stop ?all|unsubscribe|cancel|end|quit|opt ?out|revoke)\W*$`)
	startsWithStop    = regexp.MustCompile(`(?i)^\W*(please\W+)?stop\b`)
	optOutPhrase      = regexp.MustCompile(`(?i)\b(stop (it|texting|messaging|sending|contacting|the texts|these texts|the messages|these messages)|` +
		`unsubscribe|opt[\s-]?out|revoke|remove me|take me off|no more (texts|messages)|(do not|don['’]?t) (text|message|contact)|` +
		`quit (texting|messaging|sending|these|the|this)|cancel (my )?(subscription|texts|messages))\b`)
)

// Classify returns the keyword a text is ("" when none) and, for a text
// that only looks like an opt-out, store.FlagPossibleOptOut.
func Classify(text string) (keyword, flag string) {
	norm := strings.ToUpper(strings.Join(strings.Fields(text), " "))
	if k, ok := keywords[norm]; ok {
		return k, ""
	}
	if punctuatedKeyword.MatchString(text) || startsWithStop.MatchString(text) || optOutPhrase.MatchString(text) {
		return "", store.FlagPossibleOptOut
	}
	return "", ""
}
