package messaging

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// SendReplyArgs is the job sending one conversation message. Unique by its
// arguments, so dispatching twice sends once.
type SendReplyArgs struct {
	TenantID  string `json:"tenant_id"`
	MessageID string `json:"message_id"`
	// Parked is the id of the job that found the church suspended and
	// parked this message (0 for the first job).
	Parked int64 `json:"parked,omitempty"`
}

// Kind names the job.
func (SendReplyArgs) Kind() string { return "send_reply" }

// InsertOpts makes the job unique for as long as it may exist.
func (SendReplyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 8, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

type replyWorker struct {
	river.WorkerDefaults[SendReplyArgs]
	svc *Service
}

func (w *replyWorker) Work(ctx context.Context, job *river.Job[SendReplyArgs]) error {
	err := w.svc.sendReply(ctx, job.Args, job.Attempt >= job.MaxAttempts)
	if steeple.ErrorCode(err) == steeple.ESUSPENDED {
		return w.svc.park(ctx, tenancy.IntentParkedReply, job.Args.TenantID, job.Args.MessageID, 0, job.ID)
	}
	return err
}

// ReplyRequest is an admin's reply in a conversation.
type ReplyRequest struct {
	Text      string   `json:"text"`
	MediaURLs []string `json:"media_urls,omitempty"`
}

// Reply records an admin's reply to one conversation and hands it to the
// send pipeline (the same pacing as broadcasts), durably: the registry
// intent is written before the church's transaction commits.
// Errors: EINVALID, ENOTFOUND, ECONFLICT (the contact may not be texted).
func (s *Service) Reply(ctx context.Context, h *tenancy.Handle, admin *steeple.Admin, conversationID string, r ReplyRequest) (*store.ConversationMessage, error) {
	text := strings.TrimSpace(r.Text)
	fe := map[string]string{}
	if text == "" && len(r.MediaURLs) == 0 {
		fe["text"] = "is required (or send media_urls)"
	}
	if Segments(text).PerMessage > MaxSegments {
		fe["text"] = "is too long: more than 10 segments"
	}
	if len(r.MediaURLs) > 10 {
		fe["media_urls"] = "at most 10"
	}
	for _, m := range r.MediaURLs {
		if u, err := url.Parse(m); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			fe["media_urls"] = "each must be an http(s) URL"
		}
	}
	if len(fe) > 0 {
		return nil, &steeple.Error{Code: steeple.EINVALID, Message: "some fields are invalid", Fields: fe}
	}
	// Someone who opted out is refused up front, not queued and skipped
	// (CreateReply checks again in its transaction).
	if err := s.store.ConversationTextable(ctx, h, conversationID); err != nil {
		return nil, err
	}
	id, err := s.ReserveReply(ctx, h.TenantID())
	if err != nil {
		return nil, err
	}
	m, err := s.store.CreateReply(ctx, h, conversationID, store.OutboundDraft{ID: id, Body: text, MediaURLs: r.MediaURLs,
		Purpose: store.PurposeReply, CreatedBy: admin.ID})
	if err != nil {
		return nil, err
	}
	s.DispatchReply(ctx, h.TenantID(), id)
	return m, nil
}

// ReserveReply picks the id of a conversation message about to be created
// and records the registry intent to send it. Create the message, then
// call DispatchReply; a crash between is finished by the recovery sweep.
func (s *Service) ReserveReply(ctx context.Context, tenantID string) (string, error) {
	id := steeple.NewID()
	return id, s.ten.Registry.AddDispatchIntent(ctx, tenancy.IntentReply, tenantID, id)
}

// DispatchReply queues a committed conversation message's send job. A
// failure is logged, not returned: the message is stored and the recovery
// sweep queues it.
func (s *Service) DispatchReply(ctx context.Context, tenantID, messageID string) {
	if err := s.dispatchReply(ctx, tenantID, messageID); err != nil {
		s.log.Warn("reply not queued yet; the recovery sweep will", "tenant", tenantID, "message", messageID, "err", err)
	}
}

// DispatchReplyAt is DispatchReply for a message that may not go before at
// (a welcome text waiting for quiet hours to end).
func (s *Service) DispatchReplyAt(ctx context.Context, tenantID, messageID string, at time.Time) {
	if err := s.dispatchReplyAt(ctx, tenantID, messageID, at); err != nil {
		s.log.Warn("reply not queued yet; the recovery sweep will", "tenant", tenantID, "message", messageID, "err", err)
	}
}

func (s *Service) dispatchReply(ctx context.Context, tenantID, messageID string) error {
	return s.dispatchReplyAt(ctx, tenantID, messageID, time.Time{})
}

func (s *Service) dispatchReplyAt(ctx context.Context, tenantID, messageID string, at time.Time) error {
	opts := SendReplyArgs{}.InsertOpts()
	opts.ScheduledAt = at
	_, err := s.queue.InsertTx(ctx, func(tx jobs.Execer) error {
		return tenancy.InTx(tx).DeleteDispatchIntent(ctx, tenantID, messageID)
	}, []river.InsertManyParams{{Args: SendReplyArgs{TenantID: tenantID, MessageID: messageID}, InsertOpts: &opts}})
	return err
}

// sendReply sends one conversation message from the number the contact
// texted (or, if the church gave it up, its first number). Automatic
// answers to STOP go to the person who just opted out; nothing else does.
func (s *Service) sendReply(ctx context.Context, a SendReplyArgs, lastTry bool) error {
	hh := &handleHolder{ten: s.ten, id: a.TenantID}
	defer hh.release()
	h, err := hh.get(ctx)
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		s.log.Warn("reply job for a church that no longer exists; dropped", "tenant", a.TenantID, "message", a.MessageID,
			"reason", "the church was deleted")
		return nil
	}
	if err != nil {
		return err
	}
	it, err := s.store.ReplyTarget(ctx, h, a.MessageID)
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		return nil
	}
	if err != nil || (it.Status != steeple.RecipientQueued && it.Status != steeple.RecipientSending) {
		return err
	}
	out := outgoing{To: it.Phone, Text: it.Body, MediaURLs: it.MediaURLs, MemberID: it.MemberID,
		record: func(ctx context.Context, h *tenancy.Handle, u store.RecipientUpdate) error {
			return s.store.UpdateConversationMessage(ctx, h, a.MessageID, u)
		}}
	// The answers to STOP and HELP go whatever the consent: carriers
	// expect HELP answered even for someone who opted out.
	if !it.MayText && it.Purpose != store.KeywordStop && it.Purpose != store.KeywordHelp {
		return s.record(ctx, hh, out, store.RecipientUpdate{Status: steeple.RecipientSkipped, ErrorDetail: "opted out"})
	}
	// Welcome texts and the clarification asking to reply STOP wait for
	// the end of quiet hours, as scheduled texts do.
	if (it.Welcome || it.Purpose == store.PurposeClarify) && s.quietWait != nil {
		wait, err := s.quietWait(ctx, h)
		if err != nil {
			return err
		}
		if wait > 0 {
			return river.JobSnooze(wait)
		}
	}
	var assigned bool
	out.From, assigned, err = s.sendingNumber(ctx, a.TenantID, it.ChurchNumber)
	if err != nil {
		return err
	}
	if out.From == "" {
		return s.record(ctx, hh, out, store.RecipientUpdate{Status: steeple.RecipientFailed, ErrorDetail: "the church has no phone number to send from"})
	}
	lim, err := s.limits(ctx, h)
	if err != nil {
		return err
	}
	lim = lim.from(assigned)
	// Answers to keywords go out whatever the daily cap; replies and
	// welcome texts count against it.
	out.Uncapped = it.Purpose == store.KeywordStop || it.Purpose == store.KeywordStart || it.Purpose == store.KeywordHelp
	return snoozeAtCap(s.deliver(ctx, hh, out, lim, s.webhookURL(a.TenantID), lastTry))
}

// sendingNumber is the number a text goes from: preferred if the church
// still owns it and is not releasing it, else the church's first number
// that can send ("" when it has none), with whether it is assigned to the
// church's 10DLC campaign. Checked right before sending, so a release
// stops sending from a number at once.
func (s *Service) sendingNumber(ctx context.Context, tenantID, preferred string) (string, bool, error) {
	n, err := s.ten.Registry.ChurchNumber(ctx, tenantID, preferred)
	if err == nil && n.State == steeple.NumberActive {
		return preferred, n.CampaignState == tenancy.CampaignAssigned, nil
	}
	if err != nil && steeple.ErrorCode(err) != steeple.ENOTFOUND {
		return "", false, err
	}
	nums, err := s.ten.Registry.SendingNumbers(ctx, tenantID)
	if err != nil || len(nums) == 0 {
		return "", false, err
	}
	if n, err = s.ten.Registry.ChurchNumber(ctx, tenantID, nums[0]); err != nil {
		return "", false, err
	}
	return nums[0], n.CampaignState == tenancy.CampaignAssigned, nil
}
