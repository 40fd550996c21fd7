package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

var (
	importFileAAD    = []byte("import_uploads.file")
	importInvalidAAD = []byte("import_uploads.invalid")
	importSummaryAAD = []byte("import_uploads.summary")
)

// ImportUpload is a CSV file kept between an import's preview and the
// import itself, then the import's result.
type ImportUpload struct {
	ID         string
	File       []byte
	CreatedAt  time.Time
	ImportedAt *time.Time
	Summary    string // JSON, once imported
	InvalidCSV []byte // once imported
}

// SaveImportUpload keeps an uploaded file (sealed) until ttl has passed,
// and deletes the church's uploads that expired.
func (s *Store) SaveImportUpload(ctx context.Context, h *tenancy.Handle, file []byte, ttl time.Duration) (string, error) {
	now := s.Now()
	id := steeple.NewID()
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM import_uploads WHERE expires_at < $1`, now); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO import_uploads (id, file_cipher, created_at, expires_at) VALUES ($1, $2, $3, $4)`,
			id, s.keys.Seal(file, importFileAAD), now, now.Add(ttl))
		return err
	})
	return id, err
}

// ImportUpload reads an upload that has not expired. Errors: ENOTFOUND.
func (s *Store) ImportUpload(ctx context.Context, h *tenancy.Handle, id string) (*ImportUpload, error) {
	if !steeple.ValidID(id) {
		return nil, steeple.Errorf(steeple.ENOTFOUND, "import not found")
	}
	var u ImportUpload
	var file, invalid []byte
	var summary []byte
	var imported sql.NullTime
	err := h.QueryRowContext(ctx, `SELECT id, file_cipher, created_at, imported_at, summary_cipher, invalid_cipher FROM import_uploads
		WHERE id = $1 AND expires_at >= $2`, id, s.Now()).Scan(&u.ID, &file, &u.CreatedAt, &imported, &summary, &invalid)
	if err != nil {
		return nil, translate(err, "import")
	}
	if u.File, err = s.keys.Open(file, importFileAAD); err != nil {
		return nil, err
	}
	if invalid != nil {
		if u.InvalidCSV, err = s.keys.Open(invalid, importInvalidAAD); err != nil {
			return nil, err
		}
	}
	if imported.Valid {
		u.ImportedAt = &imported.Time
	}
	if summary != nil {
		b, err := s.keys.Open(summary, importSummaryAAD)
		if err != nil {
			return nil, err
		}
		u.Summary = string(b)
	}
	return &u, nil
}

// ClaimImportUpload marks an upload as being imported, once: a second
// import of the same upload gets ECONFLICT. Errors: ENOTFOUND, ECONFLICT.
func (s *Store) ClaimImportUpload(ctx context.Context, h *tenancy.Handle, id string) error {
	now := s.Now()
	res, err := h.ExecContext(ctx, `UPDATE import_uploads SET imported_at = $1 WHERE id = $2 AND expires_at >= $1 AND imported_at IS NULL`, now, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		if _, err := s.ImportUpload(ctx, h, id); err != nil {
			return err
		}
		return steeple.Errorf(steeple.ECONFLICT, "this file was already imported; upload it again to import it again")
	}
	return nil
}

// FinishImportUpload records an import's summary (JSON) and the CSV of
// its rows not imported, both sealed (they quote rejected emails and
// phones).
func (s *Store) FinishImportUpload(ctx context.Context, h *tenancy.Handle, id, summary string, invalid []byte) error {
	_, err := h.ExecContext(ctx, `UPDATE import_uploads SET summary_cipher = $1, invalid_cipher = $2 WHERE id = $3`,
		s.keys.Seal([]byte(summary), importSummaryAAD), s.keys.Seal(invalid, importInvalidAAD), id)
	return err
}

// ReleaseImportUpload undoes a claim when the import failed before it
// wrote anything, so it can be tried again.
func (s *Store) ReleaseImportUpload(ctx context.Context, h *tenancy.Handle, id string) error {
	_, err := h.ExecContext(ctx, `UPDATE import_uploads SET imported_at = NULL WHERE id = $1 AND summary_cipher IS NULL`, id)
	return err
}
