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

// lookAlike finds texts that are not a keyword but read like a wish to opt
// out ("please stop texting me", "Stop!"): they are flagged for an admin
// rather than acted on or ignored.
var lookAlike = regexp.MustCompile(`(?i)\b(stop|stopall|unsubscribe|opt[\s-]?out|remove me|take me off|no more (texts|messages)|do not (text|message)|don'?t (text|message)|cancel|quit)\b`)

// Classify returns the keyword a text is ("" when none) and, for a text
// that only looks like an opt-out, store.FlagPossibleOptOut.
func Classify(text string) (keyword, flag string) {
	norm := strings.ToUpper(strings.Join(strings.Fields(text), " "))
	if k, ok := keywords[norm]; ok {
		return k, ""
	}
	if lookAlike.MatchString(text) {
		return "", store.FlagPossibleOptOut
	}
	return "", ""
}
