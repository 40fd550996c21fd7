package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/steeple-sms/steeple/tenancy"
)

// reindexBatch is how many rows one transaction of the recompute pass reads.
const reindexBatch = 1000

// ReindexOptions tune Reindex.
type ReindexOptions struct {
	// Batch is how many rows a transaction reads (reindexBatch if 0).
	Batch int
	// Progress, if set, is called after each batch with the rows rewritten
	// so far; an error from it stops the pass (what has committed stays).
	Progress func(done int) error
}

// indexedRow is one stored blind index and the sealed value it indexes.
type indexedRow struct {
	key, stored string
	sealed      []byte
}

// Reindex recomputes every blind index of the church with the current
// blind-index key, from the sealed value it indexes: the pass after
// `steeple keys rotate --blind-index`. It walks each index column in
// batches, a transaction each; an index under the previous key moves to
// the current one in every column of its kind at once (a phone's members,
// conversation and connect card together), so joins on the index keep
// matching. It can be stopped and run again: rows already on the current
// key are skipped. It returns how many rows it rewrote.
func (s *Store) Reindex(ctx context.Context, h *tenancy.Handle, opt ReindexOptions) (int, error) {
	batch := opt.Batch
	if batch <= 0 {
		batch = reindexBatch
	}
	done := 0
	for _, c := range indexColumns {
		after := ""
		for {
			var rows []indexedRow
			n := 0
			err := h.InTx(ctx, func(tx *sql.Tx) error {
				var err error
				if rows, err = readIndexed(ctx, tx, c, after, batch); err != nil {
					return err
				}
				n, err = s.reindexRows(ctx, tx, c, rows)
				return err
			})
			if err != nil {
				return done, fmt.Errorf("%s.%s: %w", c.table, c.column, err)
			}
			done += n
			if opt.Progress != nil {
				if err := opt.Progress(done); err != nil {
					return done, err
				}
			}
			if len(rows) < batch {
				break
			}
			after = rows[len(rows)-1].key
		}
	}
	return done, nil
}

// StaleIndexes counts the church's stored blind indexes that are not the
// current key's index of their value: what must reach zero before the
// previous key is retired.
func (s *Store) StaleIndexes(ctx context.Context, h *tenancy.Handle) (int, error) {
	stale := 0
	for _, c := range indexColumns {
		after := ""
		for {
			rows, err := readIndexed(ctx, h, c, after, reindexBatch)
			if err != nil {
				return stale, fmt.Errorf("%s.%s: %w", c.table, c.column, err)
			}
			for _, r := range rows {
				cur, err := s.currentIndex(c, r)
				if err != nil {
					return stale, fmt.Errorf("%s.%s: %w", c.table, c.column, err)
				}
				if r.stored != cur {
					stale++
				}
			}
			if len(rows) < reindexBatch {
				break
			}
			after = rows[len(rows)-1].key
		}
	}
	return stale, nil
}

type rowQuerier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readIndexed reads up to limit rows of c after key after, in key order.
func readIndexed(ctx context.Context, q rowQuerier, c indexColumn, after string, limit int) ([]indexedRow, error) {
	rows, err := q.QueryContext(ctx, fmt.Sprintf(`SELECT %s, %s, %s FROM %s WHERE %[2]s IS NOT NULL AND %[1]s > $1 ORDER BY %[1]s LIMIT %[5]d`,
		c.key, c.column, c.sealed, c.table, limit), after)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []indexedRow
	for rows.Next() {
		var r indexedRow
		if err := rows.Scan(&r.key, &r.stored, &r.sealed); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// currentIndex opens a row's sealed value and indexes it with the current
// key ("" when there is no value to index: the row is left alone).
func (s *Store) currentIndex(c indexColumn, r indexedRow) (string, error) {
	b, err := s.rowIndexes(c, r)
	return b.cur, err
}

func (s *Store) rowIndexes(c indexColumn, r indexedRow) (blindIndexes, error) {
	if len(r.sealed) == 0 {
		return blindIndexes{cur: r.stored, prev: r.stored}, nil
	}
	plain, err := s.keys.Open(r.sealed, c.aad)
	if err != nil {
		return blindIndexes{}, fmt.Errorf("the value of %s does not open: %w", r.key, err)
	}
	return s.indexes(c.purpose, string(plain)), nil
}

// reindexRows moves each row not on the current key to it: with every row
// of the same value when it carries the previous key's index, else alone
// (an index no key kept makes, e.g. from an older rotation).
func (s *Store) reindexRows(ctx context.Context, tx *sql.Tx, c indexColumn, rows []indexedRow) (int, error) {
	n := 0
	for _, r := range rows {
		b, err := s.rowIndexes(c, r)
		if err != nil {
			return n, err
		}
		if r.stored == b.cur {
			continue
		}
		if b.rotating() && r.stored == b.prev {
			moved, err := moveIndex(ctx, tx, c.purpose, b.prev, b.cur)
			if err != nil {
				return n, err
			}
			n += moved
			continue
		}
		stmt := fmt.Sprintf(`UPDATE %s SET %s = $1 WHERE %s = $2 AND %[2]s = $3`, c.table, c.column, c.key)
		if c.unique {
			stmt += fmt.Sprintf(` AND NOT EXISTS (SELECT 1 FROM %s o WHERE o.%s = $1)`, c.table, c.column)
		}
		res, err := tx.ExecContext(ctx, stmt, b.cur, r.key, r.stored)
		if err != nil {
			return n, err
		}
		changed, _ := res.RowsAffected()
		n += int(changed)
	}
	return n, nil
}
