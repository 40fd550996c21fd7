package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// Invitation asks someone to become an admin.
type Invitation struct {
	ID         string       `json:"id"`
	Email      string       `json:"email"`
	Role       steeple.Role `json:"role"`
	InvitedBy  string       `json:"invited_by"`
	CreatedAt  time.Time    `json:"created_at"`
	ExpiresAt  time.Time    `json:"expires_at"`
	AcceptedAt *time.Time   `json:"accepted_at,omitempty"`
}

var invitationAAD = []byte("invitations.email")

// CreateInvitation stores an invitation by its token's hash. The plan's
// admin limit (admins plus pending invitations) is checked in the same
// transaction, under the admin lock, so parallel invitations cannot pass it
// together. Errors: EFORBIDDEN over the limit.
func (s *Store) CreateInvitation(ctx context.Context, h *tenancy.Handle, email string, role steeple.Role, invitedBy, tokenHash string, ttl time.Duration, plan steeple.Plan) (*Invitation, error) {
	now := s.Now()
	inv := &Invitation{ID: steeple.NewID(), Email: email, Role: role, InvitedBy: invitedBy, CreatedAt: now, ExpiresAt: now.Add(ttl)}
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkAdminLimit(ctx, h, tx, plan, true); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO invitations (id, token_hash, email_cipher, email_hash, role, invited_by, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, inv.ID, tokenHash, s.keys.Seal([]byte(email), invitationAAD), s.EmailIndex(email),
			role, invitedBy, inv.CreatedAt, inv.ExpiresAt)
		return translate(err, "invitation")
	})
	if err != nil {
		return nil, err
	}
	return inv, nil
}

// lockAdmins serialises the transactions that decide on the admin limit.
// SQLite transactions already start with the write lock (_txlock=immediate);
// on PostgreSQL this lock mode conflicts with itself and with any write to
// admins, so a count taken after it stays true until commit.
func lockAdmins(ctx context.Context, h *tenancy.Handle, tx *sql.Tx) error {
	if h.Backend() != steeple.BackendPostgres {
		return nil
	}
	_, err := tx.ExecContext(ctx, `LOCK TABLE admins IN SHARE ROW EXCLUSIVE MODE`)
	return err
}

// checkAdminLimit takes the admin lock and refuses one more admin (or
// invitation, when countPending) over the plan's MaxAdmins (0: no limit).
func (s *Store) checkAdminLimit(ctx context.Context, h *tenancy.Handle, tx *sql.Tx, plan steeple.Plan, countPending bool) error {
	if err := lockAdmins(ctx, h, tx); err != nil {
		return err
	}
	if plan.MaxAdmins == 0 {
		return nil
	}
	var n int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM admins`).Scan(&n); err != nil {
		return err
	}
	if countPending {
		pending, err := s.pendingInvitations(ctx, tx)
		if err != nil {
			return err
		}
		n += pending
	}
	if n >= plan.MaxAdmins {
		return steeple.Errorf(steeple.EFORBIDDEN, "the %s plan allows %d admins (counting pending invitations)", plan.Name, plan.MaxAdmins)
	}
	return nil
}

// AcceptInvitation spends an invitation and creates its admin in one
// transaction, which also checks the plan's admin limit under the admin
// lock: parallel accepts never pass it together. Errors: ENOTFOUND for an
// unknown, expired or spent token; EFORBIDDEN over the limit; ECONFLICT if
// the email is already an admin here.
func (s *Store) AcceptInvitation(ctx context.Context, h *tenancy.Handle, tokenHash, name, passwordHash string, plan steeple.Plan) (*steeple.Admin, error) {
	var adm *steeple.Admin
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		if err := lockAdmins(ctx, h, tx); err != nil {
			return err
		}
		var id string
		var sealed []byte
		var role steeple.Role
		var expires time.Time
		var accepted sql.NullTime
		err := tx.QueryRowContext(ctx, `SELECT id, email_cipher, role, expires_at, accepted_at FROM invitations WHERE token_hash = $1`,
			tokenHash).Scan(&id, &sealed, &role, &expires, &accepted)
		now := s.Now()
		if err == sql.ErrNoRows || (err == nil && (accepted.Valid || !expires.After(now))) {
			return steeple.Errorf(steeple.ENOTFOUND, "invitation not found, expired or already used")
		}
		if err != nil {
			return err
		}
		email, err := s.keys.Open(sealed, invitationAAD)
		if err != nil {
			return err
		}
		if err := s.checkAdminLimit(ctx, h, tx, plan, false); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE invitations SET accepted_at = $1 WHERE id = $2`, now, id); err != nil {
			return err
		}
		adm = &steeple.Admin{ID: steeple.NewID(), Name: name, Email: string(email), Role: role, CreatedAt: now,
			ReplyNotifications: steeple.ReplyNotifyOff}
		hash, err := s.adoptEmail(ctx, tx, adm.Email)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO admins (id, name, email_cipher, email_hash, password_hash, role, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, adm.ID, name, s.keys.Seal(email, emailAAD), hash, passwordHash, role, now)
		return translate(err, "an admin with this email")
	})
	return adm, err
}

// PendingInvitations counts invitations neither accepted nor expired.
func (s *Store) PendingInvitations(ctx context.Context, h *tenancy.Handle) (int, error) {
	return s.pendingInvitations(ctx, h)
}

// InvitationEmail returns the email of a pending invitation, so that a new
// password can be checked against it before the invitation is accepted.
// Errors: ENOTFOUND for an unknown, expired or spent token.
func (s *Store) InvitationEmail(ctx context.Context, h *tenancy.Handle, tokenHash string) (string, error) {
	var sealed []byte
	var expires time.Time
	var accepted sql.NullTime
	err := h.QueryRowContext(ctx, `SELECT email_cipher, expires_at, accepted_at FROM invitations WHERE token_hash = $1`,
		tokenHash).Scan(&sealed, &expires, &accepted)
	if err == sql.ErrNoRows || (err == nil && (accepted.Valid || !expires.After(s.Now()))) {
		return "", steeple.Errorf(steeple.ENOTFOUND, "invitation not found, expired or already used")
	}
	if err != nil {
		return "", err
	}
	email, err := s.keys.Open(sealed, invitationAAD)
	return string(email), err
}

func (s *Store) pendingInvitations(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) (int, error) {
	rows, err := q.QueryContext(ctx, `SELECT expires_at FROM invitations WHERE accepted_at IS NULL`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n, now := 0, s.Now()
	for rows.Next() {
		var exp time.Time
		if err := rows.Scan(&exp); err != nil {
			return 0, err
		}
		if exp.After(now) {
			n++
		}
	}
	return n, rows.Err()
}

// PendingInvitationList returns invitations neither accepted nor expired,
// newest first.
func (s *Store) PendingInvitationList(ctx context.Context, h *tenancy.Handle) ([]Invitation, error) {
	rows, err := h.QueryContext(ctx, `SELECT id, email_cipher, role, invited_by, created_at, expires_at FROM invitations
		WHERE accepted_at IS NULL AND expires_at > $1 ORDER BY created_at DESC, id`, s.Now())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []Invitation{}
	for rows.Next() {
		var inv Invitation
		var sealed []byte
		if err := rows.Scan(&inv.ID, &sealed, &inv.Role, &inv.InvitedBy, &inv.CreatedAt, &inv.ExpiresAt); err != nil {
			return nil, err
		}
		email, err := s.keys.Open(sealed, invitationAAD)
		if err != nil {
			return nil, err
		}
		inv.Email = string(email)
		out = append(out, inv)
	}
	return out, rows.Err()
}

// RevokeInvitation deletes a pending invitation. Errors: ENOTFOUND for an
// id that is unknown, accepted or expired.
func (s *Store) RevokeInvitation(ctx context.Context, h *tenancy.Handle, id string) error {
	res, err := h.ExecContext(ctx, `DELETE FROM invitations WHERE id = $1 AND accepted_at IS NULL AND expires_at > $2`, id, s.Now())
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		return steeple.Errorf(steeple.ENOTFOUND, "invitation not found")
	}
	return nil
}
