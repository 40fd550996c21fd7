package messaging

import (
	"context"
	"errors"
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
