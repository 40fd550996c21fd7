package store

import (
	"context"
	"time"

	"github.com/steeple-sms/steeple/tenancy"
)

// AuditEntry is one recorded action.
type AuditEntry struct {
	Seq     int64     `json:"seq"`
	At      time.Time `json:"at"`
	ActorID string    `json:"actor_id,omitempty"`
	Action  string    `json:"action"`
	Target  string    `json:"target,omitempty"`
	IP      string    `json:"ip,omitempty"`
	// Detail is free text that must never hold personal data.
	Detail string `json:"detail,omitempty"`
	// Personal is personal data the entry needs (an invited or removed
	// admin's email): stored sealed, shown only to the church's owners.
	Personal string `json:"personal,omitempty"`
}

// auditAAD binds a sealed audit value to its column.
var auditAAD = []byte("audit_log.personal")

// Audit records an action in the church's audit log.
func (s *Store) Audit(ctx context.Context, h *tenancy.Handle, e AuditEntry) error {
	var actor any
	if e.ActorID != "" {
		actor = e.ActorID
	}
	var personal []byte
	if e.Personal != "" {
		personal = s.keys.Seal([]byte(e.Personal), auditAAD)
	}
	_, err := h.ExecContext(ctx, `INSERT INTO audit_log (at, actor_id, action, target, ip, detail, personal_cipher)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, s.Now(), actor, e.Action, e.Target, e.IP, e.Detail, personal)
	return err
}

// AuditLog returns up to limit entries, newest first, older than the
// cursor (a seq; 0 for the newest), whose action starts with prefix ("" for
// all; "message." for every message action).
func (s *Store) AuditLog(ctx context.Context, h *tenancy.Handle, prefix string, before int64, limit int) ([]AuditEntry, error) {
	q := `SELECT seq, at, COALESCE(actor_id, ''), action, target, ip, detail, personal_cipher FROM audit_log WHERE action LIKE $2 ESCAPE '\'`
	args := []any{limit, escapeLike(prefix) + "%"}
	if before > 0 {
		q += ` AND seq < $3`
		args = append(args, before)
	}
	rows, err := h.QueryContext(ctx, q+` ORDER BY seq DESC LIMIT $1`, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []AuditEntry{}
	for rows.Next() {
		var e AuditEntry
		var personal []byte
		if err := rows.Scan(&e.Seq, &e.At, &e.ActorID, &e.Action, &e.Target, &e.IP, &e.Detail, &personal); err != nil {
			return nil, err
		}
		if e.Personal, err = s.openOptional(personal, auditAAD); err != nil {
			return nil, err
		}
		e.At = e.At.UTC()
		out = append(out, e)
	}
	return out, rows.Err()
}
