package tenancy

import (
	"context"

	"github.com/steeple-sms/steeple"
)

// Server is a PostgreSQL server as the registry knows it.
type Server struct {
	Ref     string `json:"ref"`
	State   string `json:"state"` // active or draining
	Tenants int    `json:"tenants"`
}

// syncServers records every configured server, new ones as active.
func (r *Registry) syncServers(ctx context.Context, refs []string) error {
	for _, ref := range refs {
		_, err := r.db.ExecContext(ctx, `INSERT INTO db_servers (ref, state, created_at) VALUES ($1, 'active', $2)
			ON CONFLICT (ref) DO NOTHING`, ref, r.now().UTC())
		if err != nil {
			return err
		}
	}
	return nil
}

// Servers lists the database servers and how many live tenants each holds.
func (r *Registry) Servers(ctx context.Context) ([]Server, error) {
	rows, err := r.db.QueryContext(ctx, `SELECT s.ref, s.state, COUNT(t.id) FROM db_servers s
		LEFT JOIN tenants t ON t.server_ref = s.ref AND t.status <> 'deleted'
		GROUP BY s.ref, s.state ORDER BY s.ref`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Server
	for rows.Next() {
		var s Server
		if err := rows.Scan(&s.Ref, &s.State, &s.Tenants); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// SetServerState marks a server active or draining. A draining server keeps
// its tenants but receives no new ones.
func (r *Registry) SetServerState(ctx context.Context, ref, state string) error {
	if state != "active" && state != "draining" {
		return steeple.Errorf(steeple.EINVALID, "server state must be active or draining, not %q", state)
	}
	res, err := r.db.ExecContext(ctx, `UPDATE db_servers SET state = $1 WHERE ref = $2`, state, ref)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return steeple.Errorf(steeple.ENOTFOUND, "database server %q not found", ref)
	}
	return nil
}

// placeTenant picks, among the active servers this process can reach, the
// one holding the fewest live tenants.
func (r *Registry) placeTenant(ctx context.Context, reachable []string) (string, error) {
	servers, err := r.Servers(ctx)
	if err != nil {
		return "", err
	}
	best, bestCount := "", -1
	for _, s := range servers {
		if s.State != "active" || !contains(reachable, s.Ref) {
			continue
		}
		if bestCount < 0 || s.Tenants < bestCount {
			best, bestCount = s.Ref, s.Tenants
		}
	}
	if best == "" {
		return "", steeple.Errorf(steeple.EUNAVAILABLE, "no active database server to place a new church on")
	}
	return best, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
