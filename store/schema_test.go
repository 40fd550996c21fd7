package store_test

import (
	"slices"
	"testing"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// One recorded schema version must mean the same thing on either backend,
// so both dialects carry the same migration versions, in order.
func TestSchemaVersionsInLockstep(t *testing.T) {
	for _, c := range []struct {
		name   string
		schema tenancy.Schema
	}{
		{"tenant", store.Schema()},
		{"registry", tenancy.RegistrySchema()},
	} {
		t.Run(c.name, func(t *testing.T) {
			lite, err := c.schema.Versions(steeple.BackendSQLite)
			if err != nil {
				t.Fatalf("sqlite: %v", err)
			}
			pg, err := c.schema.Versions(steeple.BackendPostgres)
			if err != nil {
				t.Fatalf("postgres: %v", err)
			}
			if len(lite) == 0 {
				t.Fatal("no migrations")
			}
			if !slices.Equal(lite, pg) {
				t.Fatalf("versions differ: sqlite %v, postgres %v", lite, pg)
			}
			for i := 1; i < len(lite); i++ {
				if lite[i] <= lite[i-1] {
					t.Fatalf("versions not strictly increasing: %v", lite)
				}
			}
			for _, b := range []steeple.Backend{steeple.BackendSQLite, steeple.BackendPostgres} {
				if latest, err := c.schema.Latest(b); err != nil || latest != lite[len(lite)-1] {
					t.Errorf("%s: Latest = %d, %v; want %d", b, latest, err, lite[len(lite)-1])
				}
			}
		})
	}
}
