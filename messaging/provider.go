package messaging

import (
	"context"
	"errors"
	"time"

	"github.com/steeple-sms/steeple/telnyx"
)

// Outbound is one text to send.
type Outbound struct {
	From, To, Text string
	MediaURLs      []string
	WebhookURL     string // where the provider posts this message's receipts
}

// Provider sends one text and returns the provider's message id. It is all
// the send worker needs of Telnyx.
type Provider interface {
	Send(ctx context.Context, m Outbound) (string, error)
}

// TelnyxProvider sends through the Telnyx API (or its simulator).
type TelnyxProvider struct{ Client *telnyx.Client }

// Send implements Provider.
func (p TelnyxProvider) Send(ctx context.Context, m Outbound) (string, error) {
	typ := telnyx.TypeSMS
	if len(m.MediaURLs) > 0 {
		typ = telnyx.TypeMMS
	}
	msg, err := p.Client.SendMessage(ctx, telnyx.SendMessageRequest{From: m.From, To: m.To, Text: m.Text,
		MediaURLs: m.MediaURLs, Type: typ, WebhookURL: m.WebhookURL})
	if err != nil {
		return "", err
	}
	return msg.ID, nil
}

// outcome is what a provider answer means for a recipient.
type outcome int

const (
	outcomeSent      outcome = iota
	outcomeRetry             // 429, 5xx, timeouts, queue full: try again later
	outcomeOptedOut          // 40300: the member texted STOP at the provider
	outcomeInvalidTo         // 40310: the number cannot receive texts
	outcomeRejected          // any other 4xx: failed with the provider's detail
)

// classify sorts a provider error, returning the code and detail to record
// and how long the provider asked us to wait.
func classify(err error) (o outcome, code, detail string, wait time.Duration) {
	if err == nil {
		return outcomeSent, "", "", 0
	}
	var te *telnyx.Error
	if errors.As(err, &te) {
		code, detail = te.Code, te.Detail
		if detail == "" {
			detail = te.Title
		}
		wait = te.RetryAfter
	} else {
		detail = err.Error()
	}
	switch {
	case telnyx.IsOptOut(err):
		return outcomeOptedOut, code, detail, 0
	case telnyx.IsInvalidTo(err):
		return outcomeInvalidTo, code, detail, 0
	case telnyx.Retryable(err):
		return outcomeRetry, code, detail, wait
	case te != nil:
		return outcomeRejected, code, detail, 0
	}
	return outcomeRetry, code, detail, wait // network trouble of another kind: retry
}
