package messaging

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

type sendWorker struct {
	river.WorkerDefaults[SendChunkArgs]
	svc *Service
}

// Timeout bounds one run of a chunk. It must be finite: the queue rescues
// the jobs of a process that died only once they are past it. A chunk cut
// off by it (a very slow rate) is retried and resumes where it stopped.
func (w *sendWorker) Timeout(*river.Job[SendChunkArgs]) time.Duration { return w.svc.cfg.JobTimeout }

func (w *sendWorker) Work(ctx context.Context, job *river.Job[SendChunkArgs]) error {
	svc, church := w.svc, job.Args.TenantID
	if !svc.turns.take(church, job.ID) {
		// Another job of the church is sending here: wait in the queue
		// (not an attempt) until it ends and wakes this one.
		return river.JobSnooze(svc.cfg.TurnWait)
	}
	sent := false
	defer func() { svc.endTurn(church, job.Args.MessageID, sent) }()
	err := svc.sendChunk(ctx, job.Args, job.Attempt >= job.MaxAttempts)
	sent = err == nil
	if errors.Is(err, tenancy.ErrBudgetExhausted) {
		// No connection for the church within its wait: back to the queue
		// (not an attempt), where a church whose database is open goes
		// first. As a failure it was retried after 1, 16, 81, 256 s: one
		// church's broadcast stalled four minutes on a busy PostgreSQL.
		return river.JobSnooze(svc.cfg.TurnWait)
	}
	if steeple.ErrorCode(err) == steeple.ESUSPENDED {
		// Suspended before or during the chunk: what is left of it waits
		// for the church to be resumed.
		return w.svc.park(ctx, tenancy.IntentParkedChunk, job.Args.TenantID, job.Args.MessageID, job.Args.Chunk, job.ID)
	}
	return err
}

// endTurn ends a church's send turn here and lets its next chunk go: to
// the front of the line if its broadcast holds a place (see churchPlaces),
// else the next of its chunks waiting here, woken to the end.
func (s *Service) endTurn(church, message string, sent bool) {
	next := s.turns.done(church)
	if sent && s.places.holds(church, message, s.placesKept(), time.Now()) {
		// Before the worker is free, so it may be the one to take it.
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.TurnWait)
		promoted, err := s.queue.Promote(ctx, SendChunkArgs{}.Kind(), "message_id", message, s.cfg.TurnWait)
		cancel()
		if err != nil {
			s.log.Warn("could not put a broadcast's next chunk back in its place; it waits its turn at the end", "tenant", church, "err", err)
		}
		if promoted {
			if next != 0 {
				s.turns.putBack(church, next)
			}
			return
		}
	}
	s.places.letGo(church, message)
	if next == 0 {
		return
	}
	// The job told to wait is still running until the queue records its
	// wait (milliseconds, or seconds when the registry is busy): look
	// again, less and less often, until it is waiting. (A job that
	// outlived its wait and runs elsewhere is woken when it ends, and then
	// finds nothing left to send.)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.cfg.TurnWait)
		defer cancel()
		for pause := 20 * time.Millisecond; ; pause = min(2*pause, time.Second) {
			woken, err := s.queue.Wake(ctx, next)
			if err != nil {
				s.log.Warn("could not wake a church's next send job; it runs when its wait ends", "tenant", church, "job", next, "err", err)
				return
			}
			if woken || sleepCtx(ctx, pause) != nil {
				return
			}
		}
	}()
}

// placeTakenAt is how many chunks of its broadcast must be left after the
// one sending for a church to take a place in the line: at least 300 more
// texts, seconds at a registered pace. Shorter broadcasts, as small
// churches' are, go in their turns.
const placeTakenAt = 3

// holdsPlace says whether the chunk's broadcast holds a place in the line
// (and marks it seen): a long one, with after texts left behind this
// chunk, takes one if there is room or if it has many more left than a
// broadcast holding one (see churchPlaces.keep).
func (s *Service) holdsPlace(a SendChunkArgs, after int) bool {
	if after >= placeTakenAt*store.ChunkSize {
		return s.places.keep(a.TenantID, a.MessageID, after, s.placesKept(), time.Now())
	}
	return s.places.holds(a.TenantID, a.MessageID, s.placesKept(), time.Now())
}

// longShare is how many texts at once a process gives long broadcasts
// holding a place while it is busy: a quarter of its send workers, or of
// the connections send jobs may hold if fewer (none below four). The rest
// take turns, so a small church never waits behind more than that. It is
// also how many churches sending here count as few (see placesKept).
func (s *Service) longShare() int {
	return min(s.queue.MaxWorkers(), s.ten.Manager.BackgroundSlots()) / 4
}

// placesKept is how many churches at once may hold a place in the line
// here: the share in places of placeLanes lanes (at least one if any). A
// church holding one sends at its number's pace, rather than a chunk per
// round of the whole queue.
//
// While no more churches send here than the share (the end of a storm,
// when only the largest are left, or a quiet day), each of them may hold
// one: the other workers have no church to send for. Once more churches
// send, the places beyond the usual number are given up, those with the
// fewest texts left first (see churchPlaces.keep).
func (s *Service) placesKept() int {
	share := s.longShare()
	switch {
	case share == 0:
		return 0
	case s.fewSending(share):
		return share
	}
	return max(1, share/placeLanes)
}

// fewSending says whether no more churches send here than the share for
// long broadcasts (none count as few when the share is none).
func (s *Service) fewSending(share int) bool {
	return share > 0 && s.turns.sending() <= share
}

// lanesFor is how many texts at once a chunk sends at a pace faster than
// a long pause (at a slower pace every text waits longer than a round, and
// a lane would give its connection back each time): up to placeLanes for a
// broadcast holding a place, or for any while no more churches send here
// than the share (a quiet day: against a provider answering in 100 ms a
// church of 100 sent a text every 0.1 s or more, where its number allows
// 75 a second); else one, in its turn. Never more than the church's pool
// less one connection, kept for its STOPs and receipts.
func (s *Service) lanesFor(held bool, rate float64) int {
	share := s.longShare()
	if interval(rate) >= longPause || !held && !s.fewSending(share) {
		return 1
	}
	return max(1, min(placeLanes, share, s.ten.Manager.PerTenantConns()-1))
}

// sliceAfter is a chunk's turn, given how long it took to get going (room
// for its church's connection, the connection, the first reads): SendSlice
// plus four times that, up to maxSlice. Each turn may start a connection
// to the church's database, about a second on a busy PostgreSQL server;
// longer turns then halved the connections started and sent 1.5 times as
// fast (docs/benchmarks.md, seventeenth pass; the wait for room is the
// part that counts). On SQLite, or an open pool, the turn stays SendSlice.
func (s *Service) sliceAfter(start time.Duration) time.Duration {
	return min(s.cfg.SendSlice+4*start, s.maxSlice())
}

// maxSlice bounds a turn: four times SendSlice, and never more than half
// the job's timeout, so that a longer turn is not cut off by it.
func (s *Service) maxSlice() time.Duration {
	return max(s.cfg.SendSlice, min(4*s.cfg.SendSlice, s.cfg.JobTimeout/2))
}

// handleHolder acquires the church's handle when needed and gives it back
// while the worker waits long for its pacing slot (see pause), so a slow
// paced send does not sit on a budgeted connection.
type handleHolder struct {
	ten *tenancy.Tenancy
	id  string
	h   *tenancy.Handle
	// borrowed is a handle its caller releases (a request's): kept throughout.
	borrowed bool
	// within bounds the next wait for a connection (0: none but ctx's).
	within time.Duration
}

// getWithin is get waiting at most d for a connection, where nothing is
// under way that a failure would leave half done.
func (hh *handleHolder) getWithin(ctx context.Context, d time.Duration) (*tenancy.Handle, error) {
	hh.within = d
	return hh.get(ctx)
}

func (hh *handleHolder) get(ctx context.Context) (*tenancy.Handle, error) {
	if hh.h == nil {
		if hh.within > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, hh.within)
			defer cancel()
		}
		hh.within = 0
		// A broadcast is bulk work: it gives way to STOPs, receipts and
		// pages waiting for a connection (see AcquireBackground).
		h, err := hh.ten.Manager.AcquireBackground(ctx, hh.id)
		if err != nil {
			return nil, err
		}
		hh.h = h
	}
	return hh.h, nil
}

func (hh *handleHolder) release() {
	if hh.h != nil && !hh.borrowed {
		hh.h.Release()
		hh.h = nil
	}
}

// sendChunk sends a chunk's pending recipients, paced per sending number
// and per provider account. A recipient is marked sending before the
// provider call and sent (with the provider's id) right after: if the
// worker dies between the two, the retry sends that recipient again (one
// per lane, see sendLanes).
// That, and a provider call that timed out after the provider had taken
// the text (retried like any timeout), are the windows for a duplicate.
// On lastTry, recipients the provider kept refusing are marked failed
// rather than left queued.
func (s *Service) sendChunk(ctx context.Context, a SendChunkArgs, lastTry bool) error {
	begun := time.Now()
	// A chunk waits for its church's connection no longer than for its
	// turn, at its start or once it gave it up for a member's text (see
	// runLane): a worker idle behind a full budget could be sending for a
	// church whose database is open. It then goes back to the queue (Work),
	// and goes on where it stopped.
	hh := &handleHolder{ten: s.ten, id: a.TenantID}
	defer hh.release()
	h, err := hh.getWithin(ctx, s.cfg.TurnWait)
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		s.log.Warn("send job for a church that no longer exists; dropped", "tenant", a.TenantID, "message", a.MessageID,
			"reason", "the church was deleted")
		return nil
	}
	if err != nil {
		return err
	}
	b, err := s.store.Broadcast(ctx, h, a.MessageID)
	if err != nil {
		return err
	}
	items, err := s.store.PendingRecipients(ctx, h, a.MessageID, a.Chunk)
	if err != nil {
		return err
	}
	lim, err := s.limits(ctx, h)
	if err != nil {
		return err
	}
	webhook := s.broadcastWebhookURL(a.TenantID, a.MessageID)
	// A long broadcast (a few chunks after this one) may take a place in
	// the line, and holds it through its last chunks; the rest take turns.
	after := b.Counts[steeple.RecipientQueued] + b.Counts[steeple.RecipientSending] - len(items)
	held := s.holdsPlace(a, after)
	f := &chunkFeed{items: items, start: time.Now(), slice: s.sliceAfter(time.Since(begun)), sliceOver: func() bool {
		// Its turn is over: if other jobs wait for a worker, back to the
		// end of the queue, so other churches' chunks go before the rest;
		// unless the church keeps its place.
		if s.holdsPlace(a, after) {
			return false
		}
		waiting, err := s.queue.OthersWaiting(ctx)
		return err == nil && waiting
	}}
	return s.sendLanes(ctx, hh, f, s.lanesFor(held, lim.rate), func(ctx context.Context, hh *handleHolder, it store.SendItem) error {
		// The number is looked up per text: a release stops it at once.
		from, assigned, err := s.sendingNumber(ctx, a.TenantID, b.From)
		if err != nil {
			return err
		}
		return snoozeAtCap(s.sendOne(ctx, hh, b, from, it, lim.from(assigned), webhook, lastTry))
	})
}

func (s *Service) sendOne(ctx context.Context, hh *handleHolder, b *store.Broadcast, from string, it store.SendItem, lim limits, webhook string, lastTry bool) error {
	// Consent and phone are read again right before the send: a chunk at a
	// slow rate takes minutes, and a change meanwhile must hold.
	h, err := hh.get(ctx)
	if err != nil {
		return err
	}
	// A stopped broadcast sends nothing more: its recipients are skipped,
	// and the claim in deliver finds none of them to send.
	phone, ok, err := s.store.SendTarget(ctx, h, it.MemberID)
	if err != nil {
		return err
	}
	out := outgoing{From: from, To: phone, Text: it.Body, MediaURLs: b.MediaURLs, MemberID: it.MemberID,
		record: func(ctx context.Context, h *tenancy.Handle, u store.RecipientUpdate) error {
			return s.store.UpdateRecipient(ctx, h, b.ID, it.MemberID, u)
		},
		claim: func(ctx context.Context, h *tenancy.Handle) (bool, error) {
			return s.store.ClaimHandOff(ctx, h, b.ID, it.MemberID)
		}}
	if !ok {
		return s.record(ctx, hh, out, store.RecipientUpdate{Status: steeple.RecipientSkipped, ErrorDetail: "member opted out or was removed"})
	}
	if from == "" {
		return s.record(ctx, hh, out, store.RecipientUpdate{Status: steeple.RecipientFailed, ErrorDetail: "the church has no number to send from"})
	}
	return s.deliver(ctx, hh, out, lim, webhook, lastTry)
}

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

// waitForSlot waits until this send may go: the account's rate is a slot
// reserved ahead, the number's (the limit carriers enforce) a moment
// claimed right before sending. Both are shared through the registry by
// every process. In this process a number's sends claim one at a time
// (see numberGates). The handle is given back during a long wait. It
// returns the moment claimed.
func (s *Service) waitForSlot(ctx context.Context, hh *handleHolder, from string, rate float64) (claimed time.Time, err error) {
	if s.cfg.AccountRate > 0 {
		wait, err := s.ten.Registry.ReserveSendSlot(ctx, "account", interval(s.cfg.AccountRate))
		if err != nil {
			return time.Time{}, err
		}
		if err := s.pause(ctx, hh, wait); err != nil {
			return time.Time{}, err
		}
	}
	gate, wait, err := s.gates.enter(ctx, from)
	if err != nil {
		return time.Time{}, err
	}
	defer func() { gate.leave(claimed, interval(rate)) }()
	for {
		if wait > 0 {
			if err := s.pause(ctx, hh, wait); err != nil {
				return time.Time{}, err
			}
		}
		if wait, claimed, err = s.ten.Registry.ClaimSendTime(ctx, "number:"+from, interval(rate)); err != nil || wait == 0 {
			return claimed, err
		}
	}
}

// pause sleeps, giving the church's handle back first if the wait is long
// (a slow rate's second or more). The short waits between texts at a
// registered pace keep it: given back, the idle pool was closed by another
// church's job to open its own, and reopened a moment later — on
// PostgreSQL a new server process for every text.
func (s *Service) pause(ctx context.Context, hh *handleHolder, wait time.Duration) error {
	if wait > longPause {
		hh.release()
	}
	return s.sleep(ctx, wait)
}

// longPause is the least wait for a slot that gives the handle back.
const longPause = 250 * time.Millisecond

// interval spaces sends for a rate, with 2% to spare so that jitter between
// the claim and the provider's receipt never puts one more message into a
// second than the rate allows.
func interval(perSecond float64) time.Duration {
	return time.Duration(float64(time.Second) / perSecond * 1.02)
}

// webhookURL names the church, so receipts reach it in O(1) even after its
// number has moved to another church.
func (s *Service) webhookURL(tenantID string) string {
	return strings.TrimRight(s.cfg.PublicURL, "/") + "/webhooks/telnyx?tenant=" + url.QueryEscape(tenantID)
}

// broadcastWebhookURL also names the broadcast: a receipt whose text's id
// its send worker died before recording is then adopted within that
// broadcast only (see store.AdoptReceipt), never by another text.
func (s *Service) broadcastWebhookURL(tenantID, messageID string) string {
	return s.webhookURL(tenantID) + "&" + broadcastParam + "=" + url.QueryEscape(messageID)
}

// broadcastParam is the webhook URL's parameter naming a broadcast.
const broadcastParam = "broadcast"
