package webhooks

import (
	"context"
	"encoding/json"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/steeple-sms/steeple/jobs"
	"github.com/steeple-sms/steeple/tenancy"
)

// maxBatch bounds the events one registry transaction takes.
const maxBatch = 256

// groupCommit queues events that arrive together in one registry
// transaction: each event's id row and job are written as before, but a
// burst of webhooks shares one transaction and one commit, and the
// registry (one writer on SQLite) sees one writer here instead of many
// competing for its lock. Each caller is answered once its event is
// committed. A goroutine drains the queue while there is work and then
// ends, so nothing runs when no webhooks come.
type groupCommit struct {
	svc     *Service
	mu      sync.Mutex
	queue   []*pendingEvent
	running bool
}

type pendingEvent struct {
	args   EventArgs
	idOnly bool // the event was applied on arrival: no job
	seen   bool
	jobID  int64 // the job queued for it, once committed
	done   chan error
}

// add commits one event and returns its job's id; it returns errSeen for
// an id seen before.
func (g *groupCommit) add(ctx context.Context, args EventArgs) (int64, error) {
	p := &pendingEvent{args: args, done: make(chan error, 1)}
	if err := g.wait(ctx, p); err != nil {
		return 0, err
	}
	return p.jobID, nil
}

// record commits the id alone of an event already applied, so that the
// provider's retry of it is known as one; errSeen as add.
func (g *groupCommit) record(ctx context.Context, eventID string) error {
	return g.wait(ctx, &pendingEvent{args: EventArgs{EventID: eventID}, idOnly: true, done: make(chan error, 1)})
}

func (g *groupCommit) wait(ctx context.Context, p *pendingEvent) error {
	g.mu.Lock()
	g.queue = append(g.queue, p)
	if !g.running {
		g.running = true
		go g.drain()
	}
	g.mu.Unlock()
	select {
	case err := <-p.done:
		return err
	case <-ctx.Done():
		return ctx.Err() // it may still commit: the provider's retry is then a duplicate
	}
}

func (g *groupCommit) drain() {
	for {
		g.mu.Lock()
		n := min(len(g.queue), maxBatch)
		batch := g.queue[:n:n]
		g.queue = g.queue[n:]
		if n == 0 {
			g.running = false
			g.mu.Unlock()
			return
		}
		g.mu.Unlock()
		err := g.commit(batch)
		for _, p := range batch {
			switch {
			case err != nil:
				p.done <- err
			case p.seen:
				p.done <- errSeen
			default:
				p.done <- nil
			}
		}
	}
}

// commit writes a batch: the id rows, then the jobs of the ids not seen
// before (and not applied already), in one transaction.
func (g *groupCommit) commit(batch []*pendingEvent) error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	now := g.svc.cfg.Now().UTC()
	queued := map[string]*pendingEvent{} // by event id, unique among the fresh
	res, err := g.svc.queue.InsertTxFunc(ctx, func(tx jobs.Execer) ([]river.InsertManyParams, error) {
		params := make([]river.InsertManyParams, 0, len(batch))
		clear(queued)
		for _, p := range batch {
			fresh, err := tenancy.InTx(tx).RecordWebhookEvent(ctx, p.args.EventID, now)
			if err != nil {
				return nil, err
			}
			if p.seen = !fresh; !p.seen && !p.idOnly {
				params = append(params, river.InsertManyParams{Args: p.args})
				queued[p.args.EventID] = p
			}
		}
		return params, nil
	})
	if err != nil {
		return err
	}
	// Each job is known by its arguments' event id: the insert's results
	// are not promised in the order given.
	for _, r := range res {
		var args EventArgs
		if json.Unmarshal(r.Job.EncodedArgs, &args) != nil {
			continue
		}
		if p := queued[args.EventID]; p != nil {
			p.jobID = r.Job.ID
		}
	}
	return nil
}
