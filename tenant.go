package steeple

import "time"

// TenantStatus is where a church is in its lifecycle.
type TenantStatus string

// Tenant statuses. Only active tenants are served.
const (
	TenantProvisioning TenantStatus = "provisioning"
	TenantActive       TenantStatus = "active"
	TenantSuspended    TenantStatus = "suspended"
	// TenantMoving: its database is being copied to another server and its
	// writes are paused for the final copy (seconds); callers retry.
	TenantMoving   TenantStatus = "moving"
	TenantDeleting TenantStatus = "deleting"
	TenantDeleted  TenantStatus = "deleted"
)

// Backend names where tenant databases live.
type Backend string

// The two backends.
const (
	BackendSQLite   Backend = "sqlite"
	BackendPostgres Backend = "postgres"
)

// Tenant is a church as the registry knows it.
type Tenant struct {
	ID            string       `json:"id"`
	Name          string       `json:"name"`
	Slug          string       `json:"slug"`
	Status        TenantStatus `json:"status"`
	Timezone      string       `json:"timezone"`
	Backend       Backend      `json:"backend"`
	Server        string       `json:"server,omitempty"` // reference of the PostgreSQL server; "" on SQLite
	DatabaseName  string       `json:"database_name"`    // file name on SQLite, database name on PostgreSQL
	SchemaVersion int64        `json:"schema_version"`
	Plan          string       `json:"plan"`
	CreatedAt     time.Time    `json:"created_at"`
	UpdatedAt     time.Time    `json:"updated_at"`
}

// Plan is a church's limits.
type Plan struct {
	Name            string `json:"name"`
	MaxAdmins       int    `json:"max_admins"`       // 0: no limit
	MonthlySegments int    `json:"monthly_segments"` // 0: no limit
}
