package inbox

import (
	"sort"

	"github.com/steeple-sms/steeple/store"
)

// StopKeywords, StartKeywords and HelpKeywords list the keywords Steeple
// acts on, for the 10DLC campaign description.
func StopKeywords() []string {
	var out []string
	for word := range stopWords {
		if !containsSpace(word) {
			out = append(out, word)
		}
	}
	sort.Strings(out)
	return out
}
func StartKeywords() []string { return keywordsFor(store.KeywordStart) }
func HelpKeywords() []string  { return keywordsFor(store.KeywordHelp) }

func keywordsFor(kind string) []string {
	var out []string
	for word, k := range keywords {
		if k == kind && !containsSpace(word) {
			out = append(out, word)
		}
	}
	sort.Strings(out)
	return out
}

func containsSpace(s string) bool {
	for _, r := range s {
		if r == ' ' {
			return true
		}
	}
	return false
}
