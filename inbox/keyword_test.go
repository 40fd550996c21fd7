package inbox_test

import (
	"testing"

	"github.com/steeple-sms/steeple/inbox"
	"github.com/steeple-sms/steeple/store"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	const flag = store.FlagPossibleOptOut
	for _, c := range []struct {
		text, keyword, flag string
	}{
		// Keywords: the whole text, any case, spaces around and inside ignored.
		{"STOP", store.KeywordStop, ""},
		{" stop ", store.KeywordStop, ""},
		{"Stop", store.KeywordStop, ""},
		{"\tSTOP\n", store.KeywordStop, ""},
		{"STOP ALL", store.KeywordStop, ""},
		{"stop   all", store.KeywordStop, ""},
		{"stopall", store.KeywordStop, ""},
		{"UNSUBSCRIBE", store.KeywordStop, ""},
		{"Cancel", store.KeywordStop, ""},
		{"END", store.KeywordStop, ""},
		{"end", store.KeywordStop, ""},
		{"QUIT", store.KeywordStop, ""},
		{"START", store.KeywordStart, ""},
		{"unstop", store.KeywordStart, ""},
		{"UNSTOP", store.KeywordStart, ""},
		{"yes", store.KeywordStart, ""},
		{"YES", store.KeywordStart, ""},
		{"HELP", store.KeywordHelp, ""},
		{"help", store.KeywordHelp, ""},
		{"info", store.KeywordHelp, ""},
		{" Info ", store.KeywordHelp, ""},

		// Not a keyword, but reads like a wish to opt out: flagged, not acted on.
		{"please stop texting me", "", flag},
		{"Stop!", "", flag},
		{"STOP.", "", flag},
		{"Stop it", "", flag},
		{"stop please", "", flag},
		{"unsubscribe me", "", flag},
		{"Unsubscribe.", "", flag},
		{"take me off the list", "", flag},
		{"Please take me off your list", "", flag},
		{"opt out", "", flag},
		{"Opt-out", "", flag},
		{"optout", "", flag},
		{"REVOKE", "", flag},
		{"remove me", "", flag},
		{"Please remove me from this list", "", flag},
		{"no more texts", "", flag},
		{"No more messages please", "", flag},
		{"Do not text me", "", flag},
		{"Don't text me anymore", "", flag},
		{"Dont message me", "", flag},
		{"Don’t text me anymore", "", flag}, // the apostrophe phones type
		{"I want to quit these messages", "", flag},

		// Ordinary texts.
		{"Thanks, see you Sunday", "", ""},
		{"What time does it end?", "", ""},
		{"See you at the end of service", "", ""},
		{"Yes please, count me in", "", ""},
		{"Can I help with setup?", "", ""},
		{"Where do I find info about the retreat?", "", ""},
		{"Is the youth group starting again?", "", ""},
		{"Stopping by after work", "", ""},
		{"Ended up running late, sorry", "", ""},
		{"The cancellation policy?", "", ""},
		{"Can you stop by the office?", "", ""},
		{"Is the bus stop near the church?", "", ""},
		{"Where will the youth group stop for lunch?", "", ""},
		{"Cancel my RSVP for Saturday", "", ""},
		{"I had to cancel my trip", "", ""},
		{"I quit smoking!", "", ""},
		{"Don't stop believing", "", ""},
		{"", "", ""},
		{"   ", "", ""},
	} {
		kw, fl := inbox.Classify(c.text)
		if kw != c.keyword || fl != c.flag {
			t.Errorf("Classify(%q) = (%q, %q); want (%q, %q)", c.text, kw, fl, c.keyword, c.flag)
		}
	}
}
