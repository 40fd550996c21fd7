package tenancy

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"

	"github.com/steeple-sms/steeple"
)

// Schema is a set of goose migrations in both dialects. Versions must match
// across the two (checked by a test) so that one recorded schema version
// means the same thing on either backend.
type Schema struct {
	SQLite   fs.FS
	Postgres fs.FS
}

// For returns the migrations of one backend's dialect.
func (s Schema) For(b steeple.Backend) fs.FS {
	if b == steeple.BackendPostgres {
		return s.Postgres
	}
	return s.SQLite
}

// Versions lists the migration versions of one dialect, in order.
func (s Schema) Versions(b steeple.Backend) ([]int64, error) {
	entries, err := fs.ReadDir(s.For(b), ".")
	if err != nil {
		return nil, err
	}
	var out []int64
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, ".sql") {
			continue
		}
		num, _, ok := strings.Cut(name, "_")
		if !ok {
			return nil, fmt.Errorf("migration %q: name must be VERSION_description.sql", name)
		}
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("migration %q: %w", name, err)
		}
		out = append(out, v)
	}
	return out, nil
}

// Latest returns the newest version of one dialect (0 when there is none).
func (s Schema) Latest(b steeple.Backend) (int64, error) {
	vs, err := s.Versions(b)
	if err != nil || len(vs) == 0 {
		return 0, err
	}
	return vs[len(vs)-1], nil
}

func gooseDialect(b steeple.Backend) goose.Dialect {
	if b == steeple.BackendPostgres {
		return goose.DialectPostgres
	}
	return goose.DialectSQLite3
}

// applySchema brings db up to the newest migration and returns the version it
// ends at. goose runs each migration in its own transaction, so a failing
// migration leaves the database at the previous version, never half-applied.
func applySchema(ctx context.Context, db *sql.DB, b steeple.Backend, s Schema) (int64, error) {
	p, err := goose.NewProvider(gooseDialect(b), db, s.For(b), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return 0, fmt.Errorf("load migrations: %w", err)
	}
	_, upErr := p.Up(ctx)
	v, err := p.GetDBVersion(ctx)
	if upErr != nil {
		return v, upErr
	}
	return v, err
}

// pendingSchema reports the database's version and whether migrations remain.
func schemaVersion(ctx context.Context, db *sql.DB, b steeple.Backend, s Schema) (current, latest int64, err error) {
	p, err := goose.NewProvider(gooseDialect(b), db, s.For(b), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return 0, 0, fmt.Errorf("load migrations: %w", err)
	}
	return p.GetVersions(ctx)
}
