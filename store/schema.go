// Package store holds the queries over one church's database, reached only
// through a tenant handle, and that database's schema migrations.
package store

import (
	"embed"
	"io/fs"

	"github.com/steeple-sms/steeple/tenancy"
)

//go:embed migrations/sqlite/*.sql migrations/postgres/*.sql
var migrations embed.FS

// Schema returns the tenant database migrations for both dialects. Their
// versions are kept in lockstep (checked by a test).
func Schema() tenancy.Schema {
	sqlite, _ := fs.Sub(migrations, "migrations/sqlite")
	postgres, _ := fs.Sub(migrations, "migrations/postgres")
	return tenancy.Schema{SQLite: sqlite, Postgres: postgres}
}
