package messaging

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// outgoing is one text to send (a broadcast recipient or a conversation
// message) with how to record its status.
type outgoing struct {
	From, To, Text string
	MediaURLs      []string
	MemberID       string // the member texted, "" for an unknown contact
	Uncapped       bool   // an answer to a keyword: not held by the daily cap
	record         func(context.Context, *tenancy.Handle, store.RecipientUpdate) error
	// claim, when set, marks the text sending in place of record, and says
	// whether it may still go (false: its broadcast was stopped; send
	// nothing).
	claim func(context.Context, *tenancy.Handle) (bool, error)
}

// record writes a status change on a context a shutdown does not cancel
// (bounded by a timeout): a send under way finishes and is recorded,
// rather than being forgotten and sent again after a restart.
//
// A church paused for a move of its database (seconds) is waited for: a
// text handed to the provider meanwhile is recorded in the new copy once
// the move is done, instead of being sent again by a retried job.
func (s *Service) record(ctx context.Context, hh *handleHolder, out outgoing, u store.RecipientUpdate) error {
	wctx, cancel := detached(ctx)
	defer cancel()
	for {
		h, err := hh.get(wctx)
		if errors.Is(err, tenancy.ErrMoving) {
			if serr := s.sleep(wctx, tenancy.MoveRetryAfter/4); serr != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		return out.record(wctx, h, u)
	}
}

func detached(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
}

// deliver sends one text, paced per sending number and per account,
// retrying what the provider refuses for now, and records each step.
func (s *Service) deliver(ctx context.Context, hh *handleHolder, out outgoing, lim limits, webhook string, lastTry bool) error {
	update := func(u store.RecipientUpdate) error { return s.record(ctx, hh, out, u) }
	if lim.dailyCap > 0 && !out.Uncapped {
		if err := s.takeDaily(ctx, hh, lim.dailyCap); err != nil {
			return err
		}
	}
	rate := lim.rate
	for try := 0; ; try++ {
		if try > 0 {
			if done, err := s.stillToSend(ctx, hh, out); done || err != nil {
				return err
			}
		}
		// Mark first, then take the slot: only the wait and the call itself
		// stand between a slot and its send, so sends keep their spacing.
		// A broadcast's claim is its mark, in one write.
		if out.claim != nil {
			h, err := hh.get(ctx)
			if err != nil {
				return err
			}
			if ok, err := out.claim(ctx, h); err != nil || !ok {
				return err
			}
		} else if err := update(store.RecipientUpdate{Status: steeple.RecipientSending}); err != nil {
			return err
		}
		claimed, err := s.waitForSlot(ctx, hh, out.From, rate)
		if err != nil {
			return err
		}
		// Hold the church's connection across the call, so that recording
		// what the provider answered never waits for one: a job cut off by
		// its timeout while waiting there could outlive the queue's rescue
		// time, and be run again beside itself (a duplicate text).
		if _, err := hh.get(ctx); err != nil {
			return err
		}
		sctx, cancel := detached(ctx)
		sentAt := time.Now()
		id, err := s.provider.Send(sctx, Outbound{From: out.From, To: out.To, Text: out.Text, MediaURLs: out.MediaURLs, WebhookURL: webhook})
		o, code, detail, wait := classify(err)
		var settled error
		if o != outcomeRetry {
			// The provider's answer is acted on and recorded on sctx, not
			// the job's context: a job cut off now (its timeout, a
			// shutdown) would leave the text 'sending', and its retry would
			// send it again. The record goes first; the pacing write after
			// a late send may not use up its time.
			settled = s.settle(sctx, hh, out, o, id, code, detail)
		}
		if sentAt.Sub(claimed) > 2*time.Millisecond {
			s.delaySlots(sctx, hh.id, out.From, sentAt, rate)
		}
		cancel()
		if o != outcomeRetry {
			return settled
		}
		// Retryable: put it back, wait, try again; after the last wait hand
		// the job back to the queue (or give up on the job's last try).
		if err := update(store.RecipientUpdate{Status: steeple.RecipientQueued, ErrorCode: code, ErrorDetail: detail}); err != nil {
			return err
		}
		if try >= len(s.cfg.RetryBackoff) {
			if lastTry {
				return update(store.RecipientUpdate{Status: steeple.RecipientFailed, ErrorCode: code, ErrorDetail: "provider kept failing: " + detail})
			}
			return fmt.Errorf("provider unavailable: %s %s", code, detail)
		}
		hh.release()
		if err := s.sleep(ctx, max(wait, s.cfg.RetryBackoff[try])); err != nil {
			return err
		}
	}
}

// settle records what the provider answered to a text it did not ask to
// have again later: sent, or refused for good (and what the refusal says
// about the member).
func (s *Service) settle(ctx context.Context, hh *handleHolder, out outgoing, o outcome, id, code, detail string) error {
	update := func(u store.RecipientUpdate) error { return s.record(ctx, hh, out, u) }
	switch o {
	case outcomeSent:
		return update(store.RecipientUpdate{Status: steeple.RecipientSent, ProviderID: id})
	case outcomeOptedOut:
		if err := s.providerOptOut(ctx, hh, out.MemberID); err != nil {
			return err
		}
		return update(store.RecipientUpdate{Status: steeple.RecipientSkipped, ErrorCode: code, ErrorDetail: "opted out at the provider: " + detail})
	case outcomeInvalidTo:
		if out.MemberID != "" {
			h, err := hh.get(ctx)
			if err != nil {
				return err
			}
			if err := s.store.MarkPhoneInvalid(ctx, h, out.MemberID); err != nil {
				return err
			}
		}
		return update(store.RecipientUpdate{Status: steeple.RecipientFailed, ErrorCode: code, ErrorDetail: "invalid number: " + detail})
	}
	return update(store.RecipientUpdate{Status: steeple.RecipientFailed, ErrorCode: code, ErrorDetail: detail})
}

// delaySlots moves a number's next send slot past a send that went late.
// Best effort: the text is gone, and a failure here must not keep it from
// being recorded.
func (s *Service) delaySlots(ctx context.Context, church, from string, sentAt time.Time, rate float64) {
	if err := s.ten.Registry.DelaySendSlots(ctx, "number:"+from, sentAt, interval(rate)); err != nil {
		s.log.Warn("could not move a number's next send slot past a late send; its next text may follow closer than its pace",
			"tenant", church, "err", err)
	}
}

// stillToSend looks again, before a retry, at what the wait may have
// changed: a member who opted out meanwhile is skipped (done), and a
// number released meanwhile sends nothing more (the job is retried, and
// picks another). Answers to STOP and HELP go whatever the consent.
func (s *Service) stillToSend(ctx context.Context, hh *handleHolder, out outgoing) (bool, error) {
	h, err := hh.get(ctx)
	if err != nil {
		return true, err
	}
	if out.MemberID != "" && !out.Uncapped {
		if _, ok, err := s.store.SendTarget(ctx, h, out.MemberID); err != nil || !ok {
			if err != nil {
				return true, err
			}
			return true, s.record(ctx, hh, out, store.RecipientUpdate{Status: steeple.RecipientSkipped,
				ErrorDetail: "member opted out or was removed"})
		}
	}
	n, err := s.ten.Registry.ChurchNumber(ctx, hh.id, out.From)
	if err != nil && steeple.ErrorCode(err) != steeple.ENOTFOUND {
		return true, err
	}
	if err != nil || n.State != steeple.NumberActive {
		return true, fmt.Errorf("number %s stopped sending while a text from it waited to be retried", out.From)
	}
	return false, nil
}

// providerOptOut records the provider's block as the member's own opt-out.
func (s *Service) providerOptOut(ctx context.Context, hh *handleHolder, memberID string) error {
	if memberID == "" {
		return nil
	}
	h, err := hh.get(ctx)
	if err != nil {
		return err
	}
	_, err = s.store.SetConsent(ctx, h, memberID, steeple.Consent{Status: steeple.ConsentOptedOut, Source: steeple.ConsentSourceProvider})
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		return nil
	}
	return err
}
