package store

import (
	"context"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// Upload is an image uploaded for MMS, kept in the church's own database.
type Upload struct {
	ID          string    `json:"id"`
	ContentType string    `json:"content_type"`
	Size        int       `json:"size"`
	Width       int       `json:"width"`
	Height      int       `json:"height"`
	CreatedBy   string    `json:"created_by"`
	CreatedAt   time.Time `json:"created_at"`
	// Data is the image's bytes; never in JSON answers.
	Data []byte `json:"-"`
}

// CreateMedia stores m (its ID, CreatedAt and Size are set here).
func (s *Store) CreateMedia(ctx context.Context, h *tenancy.Handle, m *Upload) error {
	m.ID, m.CreatedAt, m.Size = steeple.NewID(), s.Now(), len(m.Data)
	_, err := h.ExecContext(ctx, `INSERT INTO media (id, content_type, size, width, height, data, created_by, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`, m.ID, m.ContentType, m.Size, m.Width, m.Height, m.Data, m.CreatedBy, m.CreatedAt)
	return err
}

// Upload returns an image with its bytes. Errors: ENOTFOUND (another
// church's id is unknown here).
func (s *Store) Upload(ctx context.Context, h *tenancy.Handle, id string) (*Upload, error) {
	if !steeple.ValidID(id) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "media %s not found", id)
	}
	var m Upload
	err := h.QueryRowContext(ctx, `SELECT id, content_type, size, width, height, data, created_by, created_at
		FROM media WHERE id = $1`, id).Scan(&m.ID, &m.ContentType, &m.Size, &m.Width, &m.Height, &m.Data, &m.CreatedBy, &m.CreatedAt)
	if err := translate(err, "media "+id); err != nil {
		return nil, err
	}
	return &m, nil
}

// MediaExists checks that id names an image of this church. Errors:
// ENOTFOUND naming it.
func (s *Store) MediaExists(ctx context.Context, h *tenancy.Handle, id string) error {
	return s.mustExist(ctx, h, "media", id, "media "+id)
}

// Sign returns a keyed hash of value under the church data keys' index
// key, for links that must not be forged (purpose keeps kinds apart).
func (s *Store) Sign(purpose, value string) string {
	return s.keys.BlindIndex(purpose, value)
}

// Signatures are the signatures a link made by Sign may carry: the current
// key's first, then during a blind-index rotation the previous key's, so a
// link handed out before the rotation still works until it expires.
func (s *Store) Signatures(purpose, value string) []string {
	return s.keys.BlindIndexes(purpose, value)
}
