package tenancy

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pressly/goose/v3"

	"github.com/steeple-sms/steeple"
)

// moveChurch moves one church; a failure is reported, not returned, so the
// others carry on.
func (m *mover) moveChurch(ctx context.Context, src, target *steeple.Tenant) MovedChurch {
	start := time.Now()
	r := MovedChurch{TenantID: src.ID, Name: src.Name, Status: src.Status}
	err := m.moveChurchSteps(ctx, src, target, &r)
	r.Took = time.Since(start)
	if err != nil {
		r.Outcome, r.Error = MoveFailed, err.Error()
		return r
	}
	r.Outcome = MoveMoved
	return r
}

func (m *mover) moveChurchSteps(ctx context.Context, src, target *steeple.Tenant, r *MovedChurch) error {
	path := sqliteBackend{dir: filepath.Join(m.o.SourceDir, "tenants")}.path(src)
	if _, err := os.Stat(path); err != nil {
		if src.Status == steeple.TenantDeleting && os.IsNotExist(err) {
			// A purge already removed its file: the row moves alone, and the
			// purge finishes on PostgreSQL (dropping a database that is not there).
			return m.flip(ctx, src, target.Server, src.SchemaVersion)
		}
		return fmt.Errorf("SQLite database: %w", err)
	}
	sdb, err := sql.Open("sqlite", SQLiteDSN(path, "ro"))
	if err != nil {
		return err
	}
	defer sdb.Close()
	limitPool(sdb, 1)
	version, _, err := schemaVersion(ctx, sdb, steeple.BackendSQLite, m.t.schema)
	if err != nil {
		return fmt.Errorf("SQLite schema version: %w", err)
	}
	tables, err := sqliteTables(ctx, sdb)
	if err != nil {
		return fmt.Errorf("SQLite tables: %w", err)
	}
	dest := *src
	dest.Backend, dest.DatabaseName, dest.Server = steeple.BackendPostgres, m.pg.databaseName(src.ID), target.Server
	r.Server, r.Database, r.SchemaVersion, r.Tables = dest.Server, dest.DatabaseName, version, len(tables)
	retry := dest.Server != ""
	if !retry {
		// Recorded before the database exists, so a re-run knows where a
		// half-made one is.
		dest.Server = m.place()
		r.Server = dest.Server
		if _, err := m.t.Registry.db.ExecContext(ctx, `UPDATE tenants SET server_ref = $1 WHERE id = $2`, dest.Server, src.ID); err != nil {
			return fmt.Errorf("record placement: %w", err)
		}
	}
	if err := m.after(MoveStepPlace, src.ID); err != nil {
		return err
	}
	// A half-made database (an earlier run died after placing the church)
	// is dropped and made again from the template.
	tpl, cols, err := m.template(ctx, dest.Server, version)
	if err != nil {
		return err
	}
	err = m.t.Manager.withRoom(ctx, func() error {
		if retry {
			if err := m.pg.drop(ctx, &dest); err != nil {
				return fmt.Errorf("drop the half-made database: %w", err)
			}
		}
		return m.pg.createFrom(ctx, &dest, tpl)
	})
	if err != nil {
		return fmt.Errorf("create database: %w", err)
	}
	if err := m.after(MoveStepCreate, src.ID); err != nil {
		return err
	}
	err = m.t.Manager.withDedicated(ctx, &dest, func(db *sql.DB) error {
		// The template was migrated to exactly this version; the copy below
		// fails on any column that does not line up.
		var err error
		if r.Rows, err = m.copyChurch(ctx, src.ID, sdb, db, tables, cols); err != nil {
			return err
		}
		return m.after(MoveStepVerify, src.ID)
	})
	if err != nil {
		return err
	}
	return m.flip(ctx, src, dest.Server, version)
}

// flip points the church's registry row at its PostgreSQL database.
func (m *mover) flip(ctx context.Context, src *steeple.Tenant, server string, version int64) error {
	if server == "" {
		server = m.place()
	}
	if _, err := m.t.Registry.db.ExecContext(ctx, `UPDATE tenants SET backend = $1, server_ref = $2, database_name = $3, schema_version = $4
		WHERE id = $5`, steeple.BackendPostgres, server, m.pg.databaseName(src.ID), version, src.ID); err != nil {
		return fmt.Errorf("flip the registry row: %w", err)
	}
	return m.after(MoveStepFlip, src.ID)
}

// copyChurch copies every table in one transaction, then compares each
// table's row count with what was read from SQLite.
func (m *mover) copyChurch(ctx context.Context, id string, sdb, db *sql.DB, tables []string, cols map[string]map[string]pgColumn) (int64, error) {
	read := map[string]int64{}
	var total int64
	err := withPgx(ctx, db, func(pc *pgx.Conn) error {
		tx, err := pc.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit it is a no-op
		for _, table := range tables {
			n, err := copyTable(ctx, sdb, tx, table, cols, nil)
			if err != nil {
				return err
			}
			read[table] = n
			total += n
		}
		if err := tx.Commit(ctx); err != nil {
			return err
		}
		if err := m.after(MoveStepCopy, id); err != nil {
			return err
		}
		got, err := countRows(ctx, pc, tables)
		if err != nil {
			return fmt.Errorf("count rows: %w", err)
		}
		for _, table := range tables {
			if got[table] != read[table] {
				return fmt.Errorf("verify: %s has %d rows on PostgreSQL, %d on SQLite", table, got[table], read[table])
			}
		}
		return nil
	})
	return total, err
}

// migrateTo applies the migrations up to version, no further: the copy
// needs the same columns as the SQLite file. `steeple migrate` takes the
// church the rest of the way afterwards.
func migrateTo(ctx context.Context, db *sql.DB, s Schema, version int64) error {
	p, err := goose.NewProvider(goose.DialectPostgres, db, s.For(steeple.BackendPostgres), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return err
	}
	if _, err := p.UpTo(ctx, version); err != nil {
		return err
	}
	got, err := p.GetDBVersion(ctx)
	if err != nil {
		return err
	}
	if got != version {
		return fmt.Errorf("reached version %d, the SQLite file is at %d (this binary is older than the church)", got, version)
	}
	return nil
}
