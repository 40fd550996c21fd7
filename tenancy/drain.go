package tenancy

import (
	"context"

	"github.com/steeple-sms/steeple"
)

// DrainItem is what happened to one church while draining a server.
type DrainItem struct {
	TenantID string      `json:"tenant_id"`
	Name     string      `json:"name"`
	To       string      `json:"to,omitempty"`
	Moved    bool        `json:"moved"`
	Skipped  string      `json:"skipped,omitempty"` // why it was left where it is
	Error    string      `json:"error,omitempty"`
	Result   *MoveResult `json:"result,omitempty"`
}

// Drain marks a server draining and moves every church off it, each to the
// active server holding the fewest churches at that moment (as new churches
// are placed). A church that fails is reported and the others still move;
// report is called after each. Churches that are closing (or anything but
// active, suspended or mid-move) are skipped and reported.
func (tn *Tenancy) Drain(ctx context.Context, ref string, report func(DrainItem)) ([]DrainItem, error) {
	pg, ok := tn.be.(*postgresBackend)
	if !ok {
		return nil, steeple.Errorf(steeple.EINVALID, "draining a server needs the PostgreSQL backend")
	}
	if err := tn.Registry.SetServerState(ctx, ref, "draining"); err != nil {
		return nil, err
	}
	churches, err := tn.Registry.TenantsOn(ctx, ref)
	if err != nil {
		return nil, err
	}
	var others []string
	for _, r := range pg.refs() {
		if r != ref {
			others = append(others, r)
		}
	}
	var out []DrainItem
	for _, t := range churches {
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		it := tn.drainOne(ctx, t, others)
		out = append(out, it)
		if report != nil {
			report(it)
		}
	}
	return out, nil
}

func (tn *Tenancy) drainOne(ctx context.Context, t *steeple.Tenant, others []string) DrainItem {
	it := DrainItem{TenantID: t.ID, Name: t.Name}
	m, err := tn.Registry.Move(ctx, t.ID)
	if err != nil {
		it.Error = err.Error()
		return it
	}
	to := ""
	switch {
	case m != nil:
		to = m.ToServer // an interrupted move: finish it
	case t.Status != steeple.TenantActive && t.Status != steeple.TenantSuspended:
		it.Skipped = "the church is " + string(t.Status)
		return it
	default:
		if to, err = tn.Registry.placeTenant(ctx, others); err != nil {
			it.Error = errText(err)
			return it
		}
	}
	it.To = to
	res, err := tn.Move(ctx, t.ID, to)
	if err != nil {
		it.Error = errText(err)
		return it
	}
	it.Moved, it.Result, it.To = true, res, res.To
	return it
}

// ResumeMoves finishes (or rolls back) every move an earlier run left
// part-way, reporting each.
func (tn *Tenancy) ResumeMoves(ctx context.Context) ([]*MoveResult, []error, error) {
	moves, err := tn.Registry.Moves(ctx)
	if err != nil {
		return nil, nil, err
	}
	var done []*MoveResult
	var failed []error
	for _, m := range moves {
		res, err := tn.Move(ctx, m.TenantID, "")
		if err != nil {
			failed = append(failed, annotate(err, " (church "+m.TenantID+")"))
			continue
		}
		done = append(done, res)
	}
	return done, failed, nil
}

// errText is an error's message for an operator's report.
func errText(err error) string {
	if se, ok := err.(*steeple.Error); ok && se.Code != steeple.EINTERNAL {
		return se.Message
	}
	return err.Error()
}
