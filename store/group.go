package store

import (
	"context"
	"database/sql"
	"strconv"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// CreateGroup adds a group. Errors: ECONFLICT for a name already used (ignoring case).
func (s *Store) CreateGroup(ctx context.Context, h *tenancy.Handle, name string) (*steeple.Group, error) {
	g := &steeple.Group{ID: steeple.NewID(), Name: name, CreatedAt: s.Now()}
	_, err := h.ExecContext(ctx, `INSERT INTO groups (id, name, name_key, created_at) VALUES ($1, $2, $3, $4)`,
		g.ID, name, strings.ToLower(name), g.CreatedAt)
	if err != nil {
		return nil, translate(err, "a group named "+strconv.Quote(name))
	}
	return g, nil
}

// Groups lists the groups with their member counts, by name.
func (s *Store) Groups(ctx context.Context, h *tenancy.Handle) ([]steeple.Group, error) {
	rows, err := h.QueryContext(ctx, `SELECT g.id, g.name, g.created_at, COUNT(gm.member_id) FROM groups g
		LEFT JOIN group_members gm ON gm.group_id = g.id GROUP BY g.id, g.name, g.name_key, g.created_at ORDER BY g.name_key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []steeple.Group{}
	for rows.Next() {
		var g steeple.Group
		if err := rows.Scan(&g.ID, &g.Name, &g.CreatedAt, &g.Members); err != nil {
			return nil, err
		}
		g.CreatedAt = g.CreatedAt.UTC()
		out = append(out, g)
	}
	return out, rows.Err()
}

// Group returns one group. Errors: ENOTFOUND.
func (s *Store) Group(ctx context.Context, h *tenancy.Handle, id string) (*steeple.Group, error) {
	var g steeple.Group
	err := h.QueryRowContext(ctx, `SELECT g.id, g.name, g.created_at, (SELECT COUNT(*) FROM group_members WHERE group_id = g.id)
		FROM groups g WHERE g.id = $1`, id).Scan(&g.ID, &g.Name, &g.CreatedAt, &g.Members)
	if err != nil {
		return nil, translate(err, "group")
	}
	g.CreatedAt = g.CreatedAt.UTC()
	return &g, nil
}

// GroupByName finds a group by name, ignoring case. Errors: ENOTFOUND.
func (s *Store) GroupByName(ctx context.Context, h *tenancy.Handle, name string) (*steeple.Group, error) {
	var id string
	if err := h.QueryRowContext(ctx, `SELECT id FROM groups WHERE name_key = $1`, strings.ToLower(name)).Scan(&id); err != nil {
		return nil, translate(err, "group")
	}
	return s.Group(ctx, h, id)
}

// RenameGroup renames a group. Errors: ENOTFOUND, ECONFLICT.
func (s *Store) RenameGroup(ctx context.Context, h *tenancy.Handle, id, name string) (*steeple.Group, error) {
	res, err := h.ExecContext(ctx, `UPDATE groups SET name = $1, name_key = $2 WHERE id = $3`, name, strings.ToLower(name), id)
	if err != nil {
		return nil, translate(err, "a group named "+strconv.Quote(name))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "group not found")
	}
	return s.Group(ctx, h, id)
}

// DeleteGroup removes a group (its members stay). Errors: ENOTFOUND.
func (s *Store) DeleteGroup(ctx context.Context, h *tenancy.Handle, id string) error {
	res, err := h.ExecContext(ctx, `DELETE FROM groups WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return steeple.Errorf(steeple.ENOTFOUND, "group not found")
	}
	return nil
}

// AddToGroup adds members to a group in one transaction; members already in
// it are fine. Errors: ENOTFOUND naming the first unknown group or member.
func (s *Store) AddToGroup(ctx context.Context, h *tenancy.Handle, groupID string, memberIDs []string) error {
	return h.InTx(ctx, func(tx *sql.Tx) error {
		if err := exists(ctx, tx, "groups", groupID, "group"); err != nil {
			return err
		}
		for _, id := range memberIDs {
			if err := exists(ctx, tx, "members", id, "member "+id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO group_members (group_id, member_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
				groupID, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// RemoveFromGroup removes members from a group. Errors: ENOTFOUND for the group.
func (s *Store) RemoveFromGroup(ctx context.Context, h *tenancy.Handle, groupID string, memberIDs []string) error {
	return h.InTx(ctx, func(tx *sql.Tx) error {
		if err := exists(ctx, tx, "groups", groupID, "group"); err != nil {
			return err
		}
		for _, id := range memberIDs {
			if _, err := tx.ExecContext(ctx, `DELETE FROM group_members WHERE group_id = $1 AND member_id = $2`, groupID, id); err != nil {
				return err
			}
		}
		return nil
	})
}

// GroupMembers lists a group's members by name.
func (s *Store) GroupMembers(ctx context.Context, h *tenancy.Handle, groupID string) ([]*steeple.Member, error) {
	if _, err := s.Group(ctx, h, groupID); err != nil {
		return nil, err
	}
	rows, err := h.QueryContext(ctx, `SELECT `+memberColumns+` FROM members WHERE id IN
		(SELECT member_id FROM group_members WHERE group_id = $1) ORDER BY name_key, id`, groupID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*steeple.Member{}
	for rows.Next() {
		m, _, err := s.scanMember(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, s.fillGroups(ctx, h, out)
}

// exists answers ENOTFOUND naming what when table has no row with id.
func exists(ctx context.Context, tx *sql.Tx, table, id, what string) error {
	var one int
	err := tx.QueryRowContext(ctx, `SELECT 1 FROM `+table+` WHERE id = $1`, id).Scan(&one)
	return translate(err, what)
}
