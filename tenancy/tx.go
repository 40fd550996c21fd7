package tenancy

import (
	"context"
)

// Execer runs a statement inside a registry transaction someone else owns
// (the job queue's, which inserts jobs in the same transaction) and returns
// the rows it affected. jobs.Execer satisfies it.
type Execer interface {
	Exec(ctx context.Context, query string, args ...any) (int64, error)
}

// Tx is the registry's writes made inside the queue's transaction: typed
// methods, so no SQL crosses the package boundary. Make one with InTx in
// the callback the queue runs.
type Tx struct{ ex Execer }

// InTx wraps the queue's transaction.
func InTx(ex Execer) Tx { return Tx{ex: ex} }
