package store

import (
	"context"
	"strconv"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// CreateTemplate adds a template. Errors: ECONFLICT for a name already used.
func (s *Store) CreateTemplate(ctx context.Context, h *tenancy.Handle, name, body string) (*steeple.Template, error) {
	now := s.Now()
	t := &steeple.Template{ID: steeple.NewID(), Name: name, Body: body, CreatedAt: now, UpdatedAt: now}
	_, err := h.ExecContext(ctx, `INSERT INTO templates (id, name, name_key, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)`,
		t.ID, name, strings.ToLower(name), body, now)
	if err != nil {
		return nil, translate(err, "a template named "+strconv.Quote(name))
	}
	return t, nil
}

const templateColumns = `id, name, body, created_at, updated_at`

func scanTemplate(row interface{ Scan(...any) error }) (*steeple.Template, error) {
	var t steeple.Template
	if err := row.Scan(&t.ID, &t.Name, &t.Body, &t.CreatedAt, &t.UpdatedAt); err != nil {
		return nil, err
	}
	t.CreatedAt, t.UpdatedAt = t.CreatedAt.UTC(), t.UpdatedAt.UTC()
	return &t, nil
}

// Template returns one template. Errors: ENOTFOUND.
func (s *Store) Template(ctx context.Context, h *tenancy.Handle, id string) (*steeple.Template, error) {
	t, err := scanTemplate(h.QueryRowContext(ctx, `SELECT `+templateColumns+` FROM templates WHERE id = $1`, id))
	return t, translate(err, "template")
}

// Templates lists templates by name.
func (s *Store) Templates(ctx context.Context, h *tenancy.Handle) ([]*steeple.Template, error) {
	rows, err := h.QueryContext(ctx, `SELECT `+templateColumns+` FROM templates ORDER BY name_key`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*steeple.Template{}
	for rows.Next() {
		t, err := scanTemplate(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// UpdateTemplate replaces a template's name and body. Errors: ENOTFOUND, ECONFLICT.
func (s *Store) UpdateTemplate(ctx context.Context, h *tenancy.Handle, id, name, body string) (*steeple.Template, error) {
	res, err := h.ExecContext(ctx, `UPDATE templates SET name = $1, name_key = $2, body = $3, updated_at = $4 WHERE id = $5`,
		name, strings.ToLower(name), body, s.Now(), id)
	if err != nil {
		return nil, translate(err, "a template named "+strconv.Quote(name))
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "template not found")
	}
	return s.Template(ctx, h, id)
}

// DeleteTemplate removes a template. Errors: ENOTFOUND.
func (s *Store) DeleteTemplate(ctx context.Context, h *tenancy.Handle, id string) error {
	res, err := h.ExecContext(ctx, `DELETE FROM templates WHERE id = $1`, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return steeple.Errorf(steeple.ENOTFOUND, "template not found")
	}
	return nil
}
