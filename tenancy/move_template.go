package tenancy

import (
	"context"
	"database/sql"
	"fmt"
	"hash/fnv"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/steeple-sms/steeple"
)

// A move creates each church's database from a template already migrated
// to the church's schema version: one CREATE DATABASE … TEMPLATE instead of
// running every migration again for each church. One template per server
// and version, made on first use and dropped when the run ends.
type moveTemplate struct {
	once sync.Once
	db   *steeple.Tenant // the template database, as a tenant-shaped address
	cols map[string]map[string]pgColumn
	err  error
}

// template returns the template database for churches at version on server,
// and its tables' columns (every church made from it has the same).
func (m *mover) template(ctx context.Context, server string, version int64) (string, map[string]map[string]pgColumn, error) {
	key := fmt.Sprintf("%s/%d", server, version)
	m.mu.Lock()
	tp := m.templates[key]
	if tp == nil {
		tp = &moveTemplate{}
		m.templates[key] = tp
	}
	m.mu.Unlock()
	tp.once.Do(func() { tp.db, tp.cols, tp.err = m.makeTemplate(ctx, server, version) })
	if tp.err != nil {
		return "", nil, fmt.Errorf("template database: %w", tp.err)
	}
	return tp.db.DatabaseName, tp.cols, nil
}

// templateName is the same for every run into one registry, so a run that
// died leaves at most one template per version, which the next run replaces.
func (m *mover) templateName(version int64) string {
	h := fnv.New32a()
	h.Write([]byte(m.t.Registry.pool.Config().ConnConfig.Database))
	return fmt.Sprintf("steeple_move_tpl_%08x_v%d", h.Sum32(), version)
}

func (m *mover) makeTemplate(ctx context.Context, server string, version int64) (*steeple.Tenant, map[string]map[string]pgColumn, error) {
	tpl := &steeple.Tenant{ID: "template", Backend: steeple.BackendPostgres, Server: server, DatabaseName: m.templateName(version)}
	err := m.t.Manager.withRoom(ctx, func() error {
		if err := m.pg.drop(ctx, tpl); err != nil {
			return err
		}
		return m.pg.create(ctx, tpl)
	})
	if err != nil {
		return nil, nil, err
	}
	// Closing the dedicated pool disconnects: a template must have no sessions.
	var cols map[string]map[string]pgColumn
	err = m.t.Manager.withDedicated(ctx, tpl, func(db *sql.DB) error {
		if err := migrateTo(ctx, db, m.t.schema, version); err != nil {
			return err
		}
		return withPgx(ctx, db, func(c *pgx.Conn) (err error) {
			cols, err = pgTableColumns(ctx, c)
			return err
		})
	})
	if err != nil {
		_ = m.dropTemplate(context.WithoutCancel(ctx), tpl)
		return nil, nil, err
	}
	return tpl, cols, nil
}

// withPgx runs fn on one of db's connections as the pgx connection it is
// (for COPY, which database/sql does not offer).
func withPgx(ctx context.Context, db *sql.DB, fn func(*pgx.Conn) error) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error { return fn(dc.(*stdlib.Conn).Conn()) })
}

// dropTemplates removes the run's templates.
func (m *mover) dropTemplates(ctx context.Context) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, tp := range m.templates {
		if tp.db != nil {
			_ = m.dropTemplate(ctx, tp.db)
		}
		delete(m.templates, key)
	}
}

func (m *mover) dropTemplate(ctx context.Context, tpl *steeple.Tenant) error {
	return m.t.Manager.withRoom(ctx, func() error { return m.pg.drop(ctx, tpl) })
}

// createFrom makes t's database as a copy of template; an existing one is kept.
func (b *postgresBackend) createFrom(ctx context.Context, t *steeple.Tenant, template string) error {
	return b.admin(ctx, t.Server, func(c *pgx.Conn) error {
		_, err := c.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{t.DatabaseName}.Sanitize()+" TEMPLATE "+pgx.Identifier{template}.Sanitize())
		if pgErr, ok := err.(*pgconn.PgError); ok && pgErr.Code == "42P04" { // duplicate_database: a retry
			return nil
		}
		return err
	})
}
