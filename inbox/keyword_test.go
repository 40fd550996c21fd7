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

		// Opt-out words act whatever surrounds them (carriers' and the
		// FCC's 2025 list, and Spanish).
		{"Stop.", store.KeywordStop, ""},
		{"stop!!", store.KeywordStop, ""},
		{" STOP 🙏", store.KeywordStop, ""},
		{"🛑 stop", store.KeywordStop, ""},
		{"Stop!", store.KeywordStop, ""},
		{"STOP.", store.KeywordStop, ""},
		{"\"stop\"", store.KeywordStop, ""},
		{"Unsubscribe.", store.KeywordStop, ""},
		{"Cancel!", store.KeywordStop, ""},
		{"End.", store.KeywordStop, ""},
		{"quit...", store.KeywordStop, ""},
		{"STOPALL", store.KeywordStop, ""},
		{"Stop all!", store.KeywordStop, ""},
		{"REVOKE", store.KeywordStop, ""},
		{"revoke.", store.KeywordStop, ""},
		{"opt out", store.KeywordStop, ""},
		{"OPT OUT", store.KeywordStop, ""},
		{"Opt-out", store.KeywordStop, ""},
		{"optout", store.KeywordStop, ""},
		{"OPTOUT!", store.KeywordStop, ""},
		{"ALTO", store.KeywordStop, ""},
		{"alto.", store.KeywordStop, ""},
		{"Parar", store.KeywordStop, ""},
		{"CANCELAR", store.KeywordStop, ""},
		{"baja", store.KeywordStop, ""},
		{"¡Baja!", store.KeywordStop, ""},

		// Not a keyword, but reads like a wish to opt out: flagged, not acted on.
		{"please stop texting me", "", flag},
		{"Stop it", "", flag},
		{"stop please", "", flag},
		{"unsubscribe me", "", flag},
		{"take me off the list", "", flag},
		{"Please take me off your list", "", flag},
		{"remove me", "", flag},
		{"Please remove me from this list", "", flag},
		{"no more texts", "", flag},
		{"No more messages please", "", flag},
		{"Do not text me", "", flag},
		{"Don't text me anymore", "", flag},
		{"Dont message me", "", flag},
		{"Don’t text me anymore", "", flag}, // the apostrophe phones type
		{"I want to quit these messages", "", flag},
		{"STOP texting me!!", "", flag},
		{"Stop please 🙏", "", flag},
		{"I want to opt out", "", flag},
		{"Por favor no me envíen más mensajes", "", flag},
		{"Quiero darme de baja", "", flag},
		{"Ya no quiero recibir mensajes", "", flag},
		{"Stop STOP", "", flag},

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
		{"Alto el fuego", "", ""},
		{"La reunión es en la planta baja", "", ""},
		{"", "", ""},
		{"   ", "", ""},
	} {
		kw, fl := inbox.Classify(c.text)
		if kw != c.keyword || fl != c.flag {
			t.Errorf("Classify(%q) = (%q, %q); want (%q, %q)", c.text, kw, fl, c.keyword, c.flag)
		}
	}
}
