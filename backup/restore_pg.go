package backup

import (
	"context"
	"database/sql"
	"path/filepath"

	"github.com/jackc/pgx/v5"

	"github.com/steeple-sms/steeple"
)

// pgRestorer creates databases and fills them with pg_restore.
type pgRestorer struct {
	reg     pgDB
	regURL  string // the registry's server, for CREATE DATABASE
	servers map[string]string
}

func newPGRestorer(o Options) (*pgRestorer, error) {
	reg, err := pgDatabase(o.Tenancy.DatabaseURL, "")
	if err != nil {
		return nil, err
	}
	servers, err := serverURLs(o.Tenancy.TenantServers)
	if err != nil {
		return nil, err
	}
	return &pgRestorer{reg: reg, regURL: o.Tenancy.DatabaseURL, servers: servers}, nil
}

func (p *pgRestorer) registry(ctx context.Context, dir string, m *Manifest) (*sql.DB, bool, error) {
	db, resumed, err := p.openRegistry(ctx, m)
	if err != nil {
		return nil, false, err
	}
	var restored bool // pg_restore runs in one transaction: the tenants table exists only if it finished
	if err := db.QueryRowContext(ctx, `SELECT to_regclass('public.tenants') IS NOT NULL`).Scan(&restored); err != nil {
		db.Close()
		return nil, false, err
	}
	if !restored {
		err = runTool(ctx, p.reg, "pg_restore", "--single-transaction", "--exit-on-error", "--no-owner", filepath.Join(dir, m.Registry.Name))
	}
	if err != nil {
		db.Close()
		return nil, false, err
	}
	return db, resumed, nil
}

// openRegistry creates the registry database, or accepts an empty one or
// one that a restore of this backup began, and makes the progress table.
func (p *pgRestorer) openRegistry(ctx context.Context, m *Manifest) (*sql.DB, bool, error) {
	var exists bool
	err := pgAdmin(ctx, p.regURL, func(c *pgx.Conn) (err error) {
		exists, err = pgDatabaseExists(ctx, c, p.reg.name)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	if !exists { // refuse before creating anything
		if err := p.checkNoChurches(ctx, m); err != nil {
			return nil, false, err
		}
		if err := pgAdmin(ctx, p.regURL, func(c *pgx.Conn) error { return pgCreateDatabase(ctx, c, p.reg.name) }); err != nil {
			return nil, false, err
		}
	}
	db, err := sql.Open("pgx", p.reg.connURL())
	if err != nil {
		return nil, false, err
	}
	id := restoringBackup(ctx, db)
	if id == m.ID {
		return db, true, nil
	}
	if id != "" {
		db.Close()
		return nil, false, otherRestore(id)
	}
	var tables int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')`).Scan(&tables); err != nil {
		db.Close()
		return nil, false, err
	}
	if tables > 0 {
		db.Close()
		return nil, false, steeple.Errorf(steeple.ECONFLICT, "the registry database %s is not empty: restore only onto empty servers", p.reg.name)
	}
	if err := p.checkNoChurches(ctx, m); err != nil {
		db.Close()
		return nil, false, err
	}
	if err := startProgress(ctx, db, m.ID); err != nil {
		db.Close()
		return nil, false, err
	}
	return db, false, nil
}

// checkNoChurches refuses a restore onto servers that already hold one of
// the backup's church databases.
func (p *pgRestorer) checkNoChurches(ctx context.Context, m *Manifest) error {
	for _, c := range m.Churches {
		d, err := churchDB(p.servers, c.Server, c.Database)
		if err != nil {
			return err
		}
		err = pgAdmin(ctx, p.servers[c.Server], func(conn *pgx.Conn) error {
			exists, err := pgDatabaseExists(ctx, conn, d.name)
			if err == nil && exists {
				return steeple.Errorf(steeple.ECONFLICT, "database %s of church %s already exists on %s: restore only onto empty servers", d.name, c.ID, c.Server)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// church drops what an interrupted run left of the database (the servers
// held none of the backup's databases when the restore began), creates it
// and restores it in one transaction.
func (p *pgRestorer) church(ctx context.Context, dir string, c Church) error {
	d, err := churchDB(p.servers, c.Server, c.Database)
	if err != nil {
		return err
	}
	err = pgAdmin(ctx, p.servers[c.Server], func(conn *pgx.Conn) error {
		if err := pgDropDatabase(ctx, conn, d.name); err != nil {
			return err
		}
		return pgCreateDatabase(ctx, conn, d.name)
	})
	if err != nil {
		return err
	}
	return runTool(ctx, d, "pg_restore", "--single-transaction", "--exit-on-error", "--no-owner", filepath.Join(dir, c.Name))
}
