package inbox

import (
	"context"
	"strings"
	"time"
	"unicode"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// connectCardWait is how long a connect card waits for the name it asked.
const connectCardWait = 7 * 24 * time.Hour

// textToJoin looks at a text that is no opt-out, opt-in or help word: a
// church keyword (CONNECT) becomes a join, and the text answering a
// connect card becomes the member's name. It fills in and returns the
// answer to send ("" for none).
//
// Whether the sender is a member, and opted in, is read before the
// transaction that applies the join, to word the answer; two texts from one
// phone in the same instant could see the answer worded for the other.
func (s *Service) textToJoin(ctx context.Context, h *tenancy.Handle, in *store.InboundText) (string, error) {
	church := h.Tenant().Name
	if key := KeywordKey(in.Body); key != "" {
		k, err := s.store.KeywordByKey(ctx, h, key)
		if err != nil && steeple.ErrorCode(err) != steeple.ENOTFOUND {
			return "", err
		}
		if k != nil {
			return s.join(ctx, h, in, k)
		}
	}
	memberID, err := s.store.PendingConnectCard(ctx, h, in.From, s.cfg.Now().Add(-connectCardWait))
	if err != nil || memberID == "" {
		return "", err
	}
	first, last, ok := nameFrom(in.Body)
	if !ok {
		return "", nil
	}
	in.Keyword, in.Name = store.KeywordName, &store.NameAnswer{MemberID: memberID, FirstName: first, LastName: last}
	return church + ": thank you, " + first + "! You are all set.", nil
}

func (s *Service) join(ctx context.Context, h *tenancy.Handle, in *store.InboundText, k *steeple.Keyword) (string, error) {
	// Where the provider keeps its own STOP block (Telnyx on long codes),
	// only START or UNSTOP texted to it lifts the block: a keyword cannot
	// bring the phone back, and nothing could reach it to say so.
	resubscribes := k.Resubscribes && !s.cfg.ProviderConfirmsKeywords
	in.Keyword = store.KeywordJoin
	in.Join = &store.Join{KeywordID: k.ID, GroupID: k.GroupID, Wording: "texted " + k.Word + " to join",
		Resubscribes: resubscribes, ConnectCard: k.ConnectCard}
	m, err := s.store.MemberByPhone(ctx, h, in.From)
	if err != nil && steeple.ErrorCode(err) != steeple.ENOTFOUND {
		return "", err
	}
	optedOut := m != nil && m.Consent.Status == steeple.ConsentOptedOut
	if m == nil {
		if optedOut, err = s.store.PhoneOptedOut(ctx, h, in.From); err != nil {
			return "", err
		}
	}
	if optedOut && !resubscribes {
		return "", nil // nothing may be texted to a phone that said STOP
	}
	return JoinAnswer(h.Tenant().Name, k, m == nil || optedOut, optedOut, m == nil && k.ConnectCard), nil
}

// JoinAnswer is a keyword's answer: the church's name and the keyword's
// reply; a first opt-in (or a return after STOP) adds what carriers require
// (message and data rates, HELP, STOP), and a connect card asks the name.
func JoinAnswer(church string, k *steeple.Keyword, firstOptIn, resubscribed, askName bool) string {
	reply := k.Reply
	if reply == "" && k.GroupName != "" {
		reply = "You have joined " + k.GroupName + "."
	} else if reply == "" {
		reply = "Thank you for texting " + k.Word + "."
	}
	var b strings.Builder
	b.WriteString(church + ": ")
	if resubscribed {
		b.WriteString("you are subscribed again. ")
	}
	b.WriteString(strings.TrimSpace(reply))
	if firstOptIn {
		b.WriteString(" Msg & data rates may apply. Reply HELP for help, STOP to opt out.")
	}
	if askName {
		b.WriteString(" What is your first and last name?")
	}
	return b.String()
}

// nameFrom reads "first last" from a connect card's answer: one to four
// words of letters (hyphens and apostrophes inside), so that a question
// or a sentence is not taken as a name.
func nameFrom(text string) (first, last string, ok bool) {
	text = strings.TrimSpace(strings.Trim(text, ".!¡¿?,;:"))
	for _, p := range []string{"my name is ", "i am ", "i'm ", "me llamo ", "soy "} {
		if strings.HasPrefix(strings.ToLower(text), p) {
			text = text[len(p):]
		}
	}
	words := strings.Fields(text)
	if len(words) == 0 || len(words) > 4 {
		return "", "", false
	}
	for _, w := range words {
		for _, r := range w {
			if !unicode.IsLetter(r) && r != '-' && r != '\'' && r != '’' && r != '.' {
				return "", "", false
			}
		}
	}
	return words[0], strings.Join(words[1:], " "), true
}
