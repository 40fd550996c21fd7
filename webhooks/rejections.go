package webhooks

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// rejectionLog logs refused or dropped webhook events per reason at most
// once per window: the first at once, then one line with the count of those
// that followed. A misconfigured key or a flood of forged requests so costs
// a line a minute, not a line a request.
type rejectionLog struct {
	log   *slog.Logger
	every time.Duration
	mu    sync.Mutex
	by    map[string]*rejectionWindow
}

type rejectionWindow struct {
	logged  time.Time // when the last line for the reason was written
	pending int       // rejections since, not logged yet
	flush   *time.Timer
}

// rejectionLevel and rejectionHint say how loud each reason is and what
// an operator can do about it. Refusals at the door are warnings (a wrong
// key, a skewed clock, forged requests); events dropped after intake are
// routine.
var rejectionHint = map[string]string{
	OutcomeBadSignature: "check STEEPLE_TELNYX_PUBLIC_KEY; or someone other than the provider is posting",
	OutcomeStale:        "check this machine's clock",
	OutcomeMalformed:    "the body is not a provider event",
	OutcomeTooLarge:     "the body is over the webhook size limit",
	OutcomeUnrouted:     "a text for a number no church owns",
	OutcomeUnknownID:    "a receipt for a message no church sent",
	OutcomeUnavailable:  "the church does not exist any more",
	OutcomeInvalid:      "the event's payload could not be applied",
}

func rejectionLevel(reason string) slog.Level {
	switch reason {
	case OutcomeBadSignature, OutcomeStale, OutcomeMalformed, OutcomeTooLarge:
		return slog.LevelWarn
	}
	return slog.LevelInfo
}

func newRejectionLog(log *slog.Logger, every time.Duration) *rejectionLog {
	return &rejectionLog{log: log, every: every, by: map[string]*rejectionWindow{}}
}

// note counts one rejection for reason.
func (r *rejectionLog) note(reason string) {
	if _, ok := rejectionHint[reason]; !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	now := time.Now()
	w := r.by[reason]
	if w == nil {
		w = &rejectionWindow{}
		r.by[reason] = w
	}
	if w.pending == 0 && (w.logged.IsZero() || now.Sub(w.logged) >= r.every) {
		w.logged = now
		r.write(reason, 1)
		return
	}
	w.pending++
	if w.flush == nil {
		w.flush = time.AfterFunc(w.logged.Add(r.every).Sub(now), func() { r.flushReason(reason) })
	}
}

func (r *rejectionLog) flushReason(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	w := r.by[reason]
	w.flush = nil
	if w.pending > 0 {
		r.write(reason, w.pending)
		w.pending, w.logged = 0, time.Now()
	}
}

func (r *rejectionLog) write(reason string, n int) {
	r.log.Log(context.Background(), rejectionLevel(reason), "webhook events refused or dropped", "reason", reason, "count", n,
		"window", r.every.String(), "hint", rejectionHint[reason])
}
