package backup

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// Each church was copied after the registry, so a church may hold a
// broadcast or reply whose send jobs (or dispatch intent) the registry's
// copy does not have: it was written between the two copies. Unsent
// recipients would then wait forever. redispatch writes a dispatch intent
// for every message of a restored church that still has something unsent;
// the recovery sweep of the first `steeple serve` hands each to the queue.
// That is safe when the jobs do exist: send jobs are unique by message and
// chunk, and a job sends only recipients still pending.
var unsentQueries = []struct{ kind, query string }{
	{tenancy.IntentBroadcast, `SELECT DISTINCT message_id FROM message_recipients WHERE status IN ('queued', 'sending') ORDER BY message_id`},
	{tenancy.IntentReply, `SELECT id FROM conversation_messages WHERE direction = 'outbound' AND status IN ('queued', 'sending') ORDER BY id`},
}

func redispatch(ctx context.Context, o Options, m *Manifest) ([]string, error) {
	ten, err := tenancy.Open(ctx, o.Tenancy)
	if err != nil {
		return nil, err
	}
	defer ten.Close()
	out := []string{}
	for _, c := range m.Churches {
		if c.Status != steeple.TenantActive && c.Status != steeple.TenantSuspended {
			continue
		}
		found, err := unsent(ctx, ten, c.ID)
		if err != nil {
			return out, fmt.Errorf("church %s: %w", c.ID, err)
		}
		for _, u := range found {
			if err := ten.Registry.AddDispatchIntent(ctx, u.kind, c.ID, u.id); err != nil {
				return out, err
			}
			out = append(out, c.ID+"/"+u.id)
		}
	}
	return out, nil
}

type unsentMessage struct{ kind, id string }

func unsent(ctx context.Context, ten *tenancy.Tenancy, tenantID string) ([]unsentMessage, error) {
	h, err := ten.Manager.AcquireToRecord(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	defer h.Release()
	var out []unsentMessage
	for _, q := range unsentQueries {
		rows, err := h.QueryContext(ctx, q.query)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			u := unsentMessage{kind: q.kind}
			if err := rows.Scan(&u.id); err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, u)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// releaseRunningJobs makes the jobs that were running when the registry was
// copied available again. No process of the restored deployment runs them,
// and otherwise they would wait for the queue's rescuer (11 minutes) while
// their uniqueness keeps the sweep from queuing their work again. Each job
// resumes where its church's copy stands: a send job sends only recipients
// still pending.
func releaseRunningJobs(ctx context.Context, reg *sql.DB) (int64, error) {
	res, err := reg.ExecContext(ctx, `UPDATE river_job SET state = 'available' WHERE state = 'running'`)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
