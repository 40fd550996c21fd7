package messaging

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/tenancy"
)

// SendChunkArgs is one send job: up to store.ChunkSize recipients of a
// broadcast. Unique by its arguments, so dispatching twice adds nothing.
type SendChunkArgs struct {
	TenantID  string `json:"tenant_id"`
	MessageID string `json:"message_id"`
	Chunk     int    `json:"chunk"`
	// Parked is the id of the job that found the church suspended and
	// parked this chunk (0 for the first job): a resumed chunk is a new job.
	Parked int64 `json:"parked,omitempty"`
}

// Kind names the job.
func (SendChunkArgs) Kind() string { return "send_chunk" }

// InsertOpts makes the job unique for as long as it may exist, so a
// re-dispatch after a crash never sends a chunk twice.
func (SendChunkArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 8, UniqueOpts: river.UniqueOpts{ByArgs: true}}
}

// dispatch inserts a broadcast's send jobs and removes its intent in one
// registry transaction.
func (s *Service) dispatch(ctx context.Context, tenantID, messageID string, chunks int) error {
	params := make([]river.InsertManyParams, chunks)
	for i := range params {
		params[i] = river.InsertManyParams{Args: SendChunkArgs{TenantID: tenantID, MessageID: messageID, Chunk: i}}
	}
	_, err := s.queue.InsertTx(ctx, func(tx jobs.Execer) error {
		return tenancy.InTx(tx).DeleteDispatchIntent(ctx, tenantID, messageID)
	}, params)
	return err
}

// SweepArgs is the periodic recovery sweep.
type SweepArgs struct{}

// Kind names the job.
func (SweepArgs) Kind() string { return "dispatch_sweep" }

// InsertOpts keeps one sweep at a time.
func (SweepArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{MaxAttempts: 1, UniqueOpts: river.UniqueOpts{ByPeriod: time.Minute}}
}

type sweepWorker struct {
	river.WorkerDefaults[SweepArgs]
	svc *Service
}

func (w *sweepWorker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	_, err := w.svc.Sweep(ctx)
	return err
}

// Sweep dispatches broadcasts whose intent is older than SweepAge: the
// process that created them stopped before handing them to the queue. Its
// cost is the number of such broadcasts; it opens only their churches.
func (s *Service) Sweep(ctx context.Context) (int, error) {
	intents, err := s.ten.Registry.StaleDispatchIntents(ctx, s.cfg.SweepAge, 100)
	if err != nil {
		return 0, err
	}
	done := 0
	for _, in := range intents {
		if err := s.recover(ctx, in); err != nil {
			s.log.Warn("recovery sweep", "tenant", in.TenantID, "message", in.MessageID, "err", err)
			continue
		}
		done++
	}
	return done, nil
}

func (s *Service) recover(ctx context.Context, in tenancy.DispatchIntent) error {
	h, err := s.ten.Manager.Acquire(ctx, in.TenantID)
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		s.log.Warn("unsent message of a church that no longer exists; not sent", "tenant", in.TenantID,
			"message", in.MessageID, "kind", in.Kind, "reason", "the church was deleted")
		return s.dropIntent(ctx, in)
	}
	if err != nil {
		return err
	}
	defer h.Release()
	switch in.Kind {
	case tenancy.IntentParkedChunk, tenancy.IntentParkedReply:
		return s.unpark(ctx, in)
	}
	if in.Kind == tenancy.IntentReply {
		_, err := s.store.ReplyTarget(ctx, h, in.MessageID)
		if steeple.ErrorCode(err) == steeple.ENOTFOUND {
			return s.dropIntent(ctx, in) // the church's transaction never committed
		}
		if err != nil {
			return err
		}
		return s.dispatchReply(ctx, in.TenantID, in.MessageID)
	}
	b, err := s.store.Broadcast(ctx, h, in.MessageID)
	if steeple.ErrorCode(err) == steeple.ENOTFOUND {
		return s.dropIntent(ctx, in) // the church's transaction never committed
	}
	if err != nil {
		return err
	}
	if err := s.dispatch(ctx, in.TenantID, in.MessageID, b.Chunks); err != nil {
		return err
	}
	return s.store.MarkDispatched(ctx, h, in.MessageID)
}

func (s *Service) dropIntent(ctx context.Context, in tenancy.DispatchIntent) error {
	_, err := s.queue.InsertTx(ctx, func(tx jobs.Execer) error {
		return tenancy.InTx(tx).DeleteDispatchIntent(ctx, in.TenantID, in.MessageID)
	}, nil)
	return err
}

// park records that a send job found its church suspended: its work waits
// in the registry, costing nothing, until the church is resumed and the
// sweep queues it again (see unpark). The job then ends.
func (s *Service) park(ctx context.Context, kind, tenantID, messageID string, chunk int, jobID int64) error {
	key := messageID + "/" + strconv.FormatInt(jobID, 10)
	if kind == tenancy.IntentParkedChunk {
		key = messageID + "/" + strconv.Itoa(chunk) + "/" + strconv.FormatInt(jobID, 10)
	}
	s.log.Info("church suspended: its text waits for it to be resumed", "tenant", tenantID, "message", messageID)
	return s.ten.Registry.AddDispatchIntent(ctx, kind, tenantID, key)
}

// unpark queues a parked chunk or reply again, as a new job, and removes
// its intent in the same registry transaction.
func (s *Service) unpark(ctx context.Context, in tenancy.DispatchIntent) error {
	parts := strings.Split(in.MessageID, "/")
	var args river.JobArgs
	switch {
	case in.Kind == tenancy.IntentParkedChunk && len(parts) == 3:
		chunk, err1 := strconv.Atoi(parts[1])
		job, err2 := strconv.ParseInt(parts[2], 10, 64)
		if err1 != nil || err2 != nil {
			return s.dropIntent(ctx, in)
		}
		args = SendChunkArgs{TenantID: in.TenantID, MessageID: parts[0], Chunk: chunk, Parked: job}
	case in.Kind == tenancy.IntentParkedReply && len(parts) == 2:
		job, err := strconv.ParseInt(parts[1], 10, 64)
		if err != nil {
			return s.dropIntent(ctx, in)
		}
		args = SendReplyArgs{TenantID: in.TenantID, MessageID: parts[0], Parked: job}
	default:
		s.log.Warn("malformed parked intent dropped", "tenant", in.TenantID, "intent", in.MessageID)
		return s.dropIntent(ctx, in)
	}
	_, err := s.queue.InsertTx(ctx, func(tx jobs.Execer) error {
		return tenancy.InTx(tx).DeleteDispatchIntent(ctx, in.TenantID, in.MessageID)
	}, []river.InsertManyParams{{Args: args}})
	return err
}
