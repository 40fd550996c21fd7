package tenancy

import (
	"context"
	"database/sql"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/steeple-sms/steeple"
)

// Lending a busy connection. On Sunday morning a church's send job holds
// its connection for its whole turn while its receipts and its members'
// STOPs arrive; on PostgreSQL, where the send jobs hold most of the
// budget, those callers would wait for room that rarely comes, and the
// receipts went to the queue. The send job lends its connection instead,
// between two texts (when it has no transaction open), to one such caller
// of its own church waiting for it, and takes it back when that caller
// releases it: a brief write on a connection already open and counted.

// lendOffer is a holder's connection on its way to a borrower; back is
// closed when the borrower gives it back.
type lendOffer struct {
	conn *sql.Conn
	back chan struct{}
}

// handle wraps the lent connection for the borrower. Its release hands the
// connection back to the holder, nothing else: the holder's acquisition
// still owns it (its count, its move fence).
func (o *lendOffer) handle(t *steeple.Tenant) *Handle {
	return &Handle{tenant: *t, conn: o.conn, release: func() { close(o.back) }, borrowed: true}
}

// Borrowed reports whether the handle is another holder's connection lent
// to this caller: give it back as soon as the brief work is done.
func (h *Handle) Borrowed() bool { return h.borrowed }

// Lend hands the connection to the callers of the same church waiting to
// record something brief (AcquireToRecordBriefly, WaitToRecord), one after
// the other, if any wait right now (at most lendsAtOnce), and returns once
// it is given back; with nobody waiting it returns at once. Call it only
// with no transaction open on the handle. A borrowed handle cannot be lent
// again. It reports whether the holder may go on with the connection. It
// may not:
//   - when on PostgreSQL a borrower whose context ended mid-query has had
//     it closed (pgx closes a connection it cannot interrupt cleanly);
//   - when the handle is a send job's (AcquireBackground) and a member's
//     text of a church with no connection open waits for room in a full
//     budget: the connection is given up for it (one for each such
//     church, see manager_giveway.go) and closed on Release.
//
// Either way the holder must release the handle and acquire another
// (which waits until the texts have their room).
func (h *Handle) Lend() bool {
	if h.lend == nil {
		return true
	}
	for range lendsAtOnce {
		if !h.lendOnce() {
			break
		}
		if closedConn(h.conn) {
			return false
		}
	}
	return h.giveWay == nil || !h.giveWay()
}

// lendsAtOnce bounds the callers served by one Lend. One a text was too
// few on Sunday morning: a large church's STOPs (one in a hundred of its
// members) and receipts waited their turns behind each other, one a text,
// and the last STOPs were applied 2–5 s late (twentieth pass in
// docs/benchmarks.md). A brief write takes milliseconds; a text's pace,
// 13 ms at 75 a second.
const lendsAtOnce = 8

// lendOnce lends the connection to one waiting caller, if one waits, and
// returns once it is given back; false when nobody waited.
func (h *Handle) lendOnce() bool {
	o := lendOffer{conn: h.conn, back: make(chan struct{})}
	select {
	case h.lend <- o:
		<-o.back
		return true
	default:
		return false
	}
}

// closedConn reports whether the driver has closed the connection under
// database/sql (a PostgreSQL query cut short by its context).
func closedConn(conn *sql.Conn) bool {
	closed := false
	_ = conn.Raw(func(dc any) error {
		if c, ok := dc.(*stdlib.Conn); ok {
			closed = c.Conn().IsClosed()
		}
		return nil
	})
	return closed
}

// AcquireToRecordBriefly is AcquireToRecord for one brief write (a queued
// receipt, a member's text): while it waits, its church's busy connection
// may be lent to it by the holder (Handle.Lend).
func (m *Manager) AcquireToRecordBriefly(ctx context.Context, tenantID string) (*Handle, error) {
	return m.acquireCounted(ctx, tenantID, acquireRecordBrief)
}

// AcquireForMemberText is AcquireToRecordBriefly for a member's text (a
// STOP above all), which goes first for room in a full budget: while one
// waits for room, nothing but another member's text or a page opens a
// connection or closes a pool to make one; receipts and sends keep to
// their own church's connections (a receipt's way round is the queue,
// with seconds to spare; a STOP's target is two seconds). On Sunday
// morning the receipts of churches sending in another process took the
// room as it came free, and STOPs waited seconds behind them.
func (m *Manager) AcquireForMemberText(ctx context.Context, tenantID string) (*Handle, error) {
	return m.acquireCounted(ctx, tenantID, acquireMemberText)
}
