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

// redispatch also rebuilds, from each church's copy, the registry's indexes
// of it that may have changed after the registry was copied (see reindex).
func redispatch(ctx context.Context, o Options, m *Manifest) ([]string, error) {
	ten, err := tenancy.Open(ctx, o.Tenancy)
	if err != nil {
		return nil, err
	}
	defer ten.Close()
	// A backup from an older release: bring the registry to this binary's
	// schema (additive migrations) before writing to it. Churches are left
	// to `steeple migrate`.
	if st, err := ten.Registry.Status(ctx); err != nil {
		return nil, err
	} else if !st.Current() {
		if _, err := ten.Registry.Migrate(ctx); err != nil {
			return nil, err
		}
	}
	out := []string{}
	for _, c := range m.Churches {
		if c.Status != steeple.TenantActive && c.Status != steeple.TenantSuspended {
			continue
		}
		found, err := unsent(ctx, ten, c.ID)
		if err == nil {
			err = reindex(ctx, ten, c.ID)
		}
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
		err := eachRow(ctx, h, q.query, func(scan func(...any) error) error {
			u := unsentMessage{kind: q.kind}
			if err := scan(&u.id); err != nil {
				return err
			}
			out = append(out, u)
			return nil
		})
		if err != nil {
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

// reindex writes into the registry what the church's copy says of the
// registry's indexes that follow it: a login entry for every admin (one
// who joined during the backup could not sign in otherwise) and the next
// due time of every active schedule that is not firing (the church's row
// is the newer). Both writes are idempotent.
func reindex(ctx context.Context, ten *tenancy.Tenancy, tenantID string) error {
	h, err := ten.Manager.AcquireToRecord(ctx, tenantID)
	if err != nil {
		return err
	}
	defer h.Release()
	type login struct{ id, hash string }
	var logins []login
	err = eachRow(ctx, h, `SELECT id, email_hash FROM admins`, func(scan func(...any) error) error {
		var l login
		if err := scan(&l.id, &l.hash); err != nil {
			return err
		}
		logins = append(logins, l)
		return nil
	})
	if err != nil {
		return err
	}
	var dues []tenancy.ScheduleDue
	err = eachRow(ctx, h, `SELECT id, next_key, next_at FROM schedules WHERE status = 'active' AND firing = '' AND next_at IS NOT NULL`,
		func(scan func(...any) error) error {
			d := tenancy.ScheduleDue{TenantID: tenantID}
			if err := scan(&d.ScheduleID, &d.Occurrence, &d.DueAt); err != nil {
				return err
			}
			dues = append(dues, d)
			return nil
		})
	if err != nil {
		return err
	}
	h.Release() // the registry writes need no church connection
	for _, l := range logins {
		if err := ten.Registry.AddLogin(ctx, l.hash, tenantID, l.id); err != nil {
			return err
		}
	}
	for _, d := range dues {
		if err := ten.Registry.SetScheduleDue(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

func eachRow(ctx context.Context, h *tenancy.Handle, q string, fn func(scan func(...any) error) error) error {
	rows, err := h.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return rows.Err()
}
