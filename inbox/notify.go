package inbox

// Telling staff a reply arrived: an email to each admin who asked for one
// at once, an hourly digest to those who asked for that, and a text to
// the church's staff mobile. All of it runs in queued jobs, never in the
// webhook's own work, and none for keywords the system answered.

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/mail"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// ReplyMailArgs emails one admin about one reply.
type ReplyMailArgs struct {
	TenantID  string `json:"tenant_id"`
	MessageID string `json:"message_id"`
	AdminID   string `json:"admin_id"`
}

// Kind names the job.
func (ReplyMailArgs) Kind() string { return "reply_mail" }

// InsertOpts retries a mail server briefly away, not for long.
func (ReplyMailArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 5} }

// ReplyForwardArgs texts one reply to the church's staff mobile.
type ReplyForwardArgs struct {
	TenantID  string `json:"tenant_id"`
	MessageID string `json:"message_id"`
}

// Kind names the job.
func (ReplyForwardArgs) Kind() string { return "reply_forward" }

// InsertOpts: one try; a text that may have gone is not sent twice.
func (ReplyForwardArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{MaxAttempts: 1} }

// ReplyDigestArgs mails a church's hourly digests. One is queued per
// church per period, for the end of the period, and only when a reply
// came in: the work is what is due, not every church every hour.
type ReplyDigestArgs struct {
	TenantID string `json:"tenant_id"`
}

// Kind names the job.
func (ReplyDigestArgs) Kind() string { return "reply_digest" }

type replyMailWorker struct {
	river.WorkerDefaults[ReplyMailArgs]
	svc *Service
}

type replyForwardWorker struct {
	river.WorkerDefaults[ReplyForwardArgs]
	svc *Service
}

type replyDigestWorker struct {
	river.WorkerDefaults[ReplyDigestArgs]
	svc *Service
}

// notifyReply queues what a new reply sets off. Called after the reply is
// committed; a failure to queue is logged (the reply is in the inbox).
func (s *Service) notifyReply(ctx context.Context, h *tenancy.Handle, messageID string) {
	if err := s.queueNotices(ctx, h, messageID); err != nil {
		s.log.Warn("reply notifications not queued", "tenant", h.TenantID(), "message", messageID, "err", err)
	}
}

func (s *Service) queueNotices(ctx context.Context, h *tenancy.Handle, messageID string) error {
	var params []river.InsertManyParams
	if s.cfg.Mail != nil {
		now, err := s.store.AdminsNotified(ctx, h, steeple.ReplyNotifyImmediate)
		if err != nil {
			return err
		}
		for _, a := range now {
			params = append(params, river.InsertManyParams{Args: ReplyMailArgs{TenantID: h.TenantID(), MessageID: messageID, AdminID: a.ID}})
		}
		hourly, err := s.store.AdminsNotified(ctx, h, steeple.ReplyNotifyHourly)
		if err != nil {
			return err
		}
		if len(hourly) > 0 {
			every := s.cfg.DigestEvery
			// The queue runs on real time: at the end of this period.
			at := time.Now().Truncate(every).Add(every)
			params = append(params, river.InsertManyParams{Args: ReplyDigestArgs{TenantID: h.TenantID()}, InsertOpts: &river.InsertOpts{
				MaxAttempts: 5, ScheduledAt: at, UniqueOpts: river.UniqueOpts{ByArgs: true, ByPeriod: every}}})
		}
	}
	forward, err := s.store.Setting(ctx, h, steeple.SettingReplyForwardPhone)
	if err != nil {
		return err
	}
	if forward != "" {
		params = append(params, river.InsertManyParams{Args: ReplyForwardArgs{TenantID: h.TenantID(), MessageID: messageID}})
	}
	if len(params) == 0 {
		return nil
	}
	_, err = s.queue.InsertTx(ctx, nil, params)
	return err
}

// acquire is the church's handle for a notice job; nil (and no error)
// when the church is gone or suspended: nothing to tell.
func (s *Service) acquire(ctx context.Context, tenantID string) (*tenancy.Handle, error) {
	h, err := s.ten.Manager.Acquire(ctx, tenantID)
	if c := steeple.ErrorCode(err); c == steeple.ENOTFOUND || c == steeple.ESUSPENDED {
		return nil, nil
	}
	return h, err
}

func (w *replyMailWorker) Work(ctx context.Context, job *river.Job[ReplyMailArgs]) error {
	s := w.svc
	h, err := s.acquire(ctx, job.Args.TenantID)
	if h == nil || err != nil {
		return err
	}
	church := h.Tenant().Name
	n, err := s.store.ReplyNoticeOf(ctx, h, job.Args.MessageID)
	var a *store.AdminRecord
	if err == nil {
		a, err = s.store.Admin(ctx, h, job.Args.AdminID)
	}
	h.Release() // no church connection held while the mail server answers
	if c := steeple.ErrorCode(err); c == steeple.ENOTFOUND {
		return nil
	} else if err != nil {
		return err
	}
	if a.ReplyNotifications != steeple.ReplyNotifyImmediate {
		return nil // changed their mind since
	}
	return s.cfg.Mail.Send(ctx, mail.Message{To: a.Email, Subject: "New reply from " + n.Sender() + " — " + church,
		Text: s.replyMailText(church, []*store.ReplyNotice{n}, 1)})
}

func (w *replyDigestWorker) Work(ctx context.Context, job *river.Job[ReplyDigestArgs]) error {
	return w.svc.SendDigests(ctx, job.Args.TenantID)
}

// digestLimit is how many replies one digest lists (it counts the rest).
const digestLimit = 50

// SendDigests mails each admin of a church who chose the hourly digest the
// replies since their last one, and moves their mark past them.
func (s *Service) SendDigests(ctx context.Context, tenantID string) error {
	h, err := s.acquire(ctx, tenantID)
	if h == nil || err != nil {
		return err
	}
	church := h.Tenant().Name
	admins, err := s.store.AdminsNotified(ctx, h, steeple.ReplyNotifyHourly)
	type digest struct {
		admin   store.NotifiedAdmin
		replies []*store.ReplyNotice
		total   int
	}
	var ds []digest
	for _, a := range admins {
		if err != nil {
			break
		}
		var d = digest{admin: a}
		d.replies, d.total, err = s.store.RepliesSince(ctx, h, a.NotifiedUS, digestLimit)
		if len(d.replies) > 0 {
			ds = append(ds, d)
		}
	}
	h.Release() // no church connection held while the mail server answers
	if err != nil {
		return err
	}
	var sent []digest
	var failed error
	for _, d := range ds {
		subject := fmt.Sprintf("%d new replies — %s", d.total, church)
		if d.total == 1 {
			subject = "1 new reply — " + church
		}
		if err := s.cfg.Mail.Send(ctx, mail.Message{To: d.admin.Email, Subject: subject,
			Text: s.replyMailText(church, d.replies, d.total)}); err != nil {
			failed = err // the others still get theirs; this one is retried
			continue
		}
		sent = append(sent, d)
	}
	if len(sent) > 0 {
		h, err := s.acquire(ctx, tenantID)
		if h == nil || err != nil {
			return err
		}
		defer h.Release()
		for _, d := range sent {
			if err := s.store.AdvanceNotified(ctx, h, d.admin.ID, d.replies[len(d.replies)-1].US); err != nil {
				return err
			}
		}
	}
	return failed
}

// replyMailText lists replies, oldest first, and says where to answer.
func (s *Service) replyMailText(church string, replies []*store.ReplyNotice, total int) string {
	var b strings.Builder
	if total == 1 {
		fmt.Fprintf(&b, "A new reply was texted to %s.\n\n", church)
	} else {
		fmt.Fprintf(&b, "%d new replies were texted to %s.\n\n", total, church)
	}
	for _, n := range replies {
		body := n.Body
		if body == "" && n.Media > 0 {
			body = "[photo]"
		}
		fmt.Fprintf(&b, "%s (%s):\n%s\n\n", n.Sender(), n.At.Format("Jan 2, 3:04 PM UTC"), body)
	}
	if total > len(replies) {
		fmt.Fprintf(&b, "…and %d more.\n\n", total-len(replies))
	}
	if s.cfg.PublicURL != "" {
		fmt.Fprintf(&b, "Answer them in the inbox: %s/inbox\n", strings.TrimRight(s.cfg.PublicURL, "/"))
	} else {
		b.WriteString("Answer them in Steeple's inbox.\n")
	}
	b.WriteString("\nYou get these emails because you chose to in your account settings.\n")
	return b.String()
}

func (w *replyForwardWorker) Work(ctx context.Context, job *river.Job[ReplyForwardArgs]) error {
	s := w.svc
	h, err := s.acquire(ctx, job.Args.TenantID)
	if h == nil || err != nil {
		return err
	}
	defer h.Release()
	to, err := s.store.Setting(ctx, h, steeple.SettingReplyForwardPhone)
	if err != nil || to == "" {
		return err
	}
	n, err := s.store.ReplyNoticeOf(ctx, h, job.Args.MessageID)
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		return nil
	}
	if err != nil {
		return err
	}
	if n.Phone == to {
		return nil // the staff mobile texting the church is not told of itself
	}
	status, err := s.msg.SendNotice(ctx, h, n.ChurchNumber, to, ForwardText(n.Sender(), n.Body, n.Media > 0))
	if err != nil {
		s.log.Warn("reply not forwarded to the staff mobile", "tenant", job.Args.TenantID, "message", job.Args.MessageID, "err", err)
		return nil
	}
	if status != steeple.RecipientSent {
		s.log.Info("reply not forwarded to the staff mobile", "tenant", job.Args.TenantID, "message", job.Args.MessageID,
			"status", status)
	}
	return nil
}

// forwardLimit keeps a forwarded reply within a few text segments.
const forwardLimit = 300

// ForwardText is the text a reply is forwarded to the staff mobile as.
func ForwardText(sender, body string, media bool) string {
	if body == "" && media {
		body = "[photo]"
	}
	if utf8.RuneCountInString(body) > forwardLimit {
		body = string([]rune(body)[:forwardLimit-1]) + "…"
	}
	return "Reply from " + sender + ": " + body
}

// registerNotices adds the notice workers.
func (s *Service) registerNotices(w *river.Workers) {
	river.AddWorker(w, &replyMailWorker{svc: s})
	river.AddWorker(w, &replyForwardWorker{svc: s})
	river.AddWorker(w, &replyDigestWorker{svc: s})
}
