package bench

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
)

// copyTenantRow inserts n registry rows copied from the model tenant's row
// (every column, whatever the registry schema holds by now), each changed
// by edit (which names the columns it sets, so a missing one is an error,
// not a silent copy of the model's value).
func copyTenantRow(ctx context.Context, db *sql.DB, model string, n int, sets []string, edit func(i int, set func(col string, v any))) error {
	rows, err := db.QueryContext(ctx, `SELECT * FROM tenants WHERE id = $1`, model)
	if err != nil {
		return err
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	if !rows.Next() {
		rows.Close()
		return fmt.Errorf("model tenant %s not found: %v", model, rows.Err())
	}
	if err := rows.Scan(ptrs...); err != nil {
		rows.Close()
		return err
	}
	rows.Close()
	col := map[string]int{}
	for i, c := range cols {
		col[strings.ToLower(c)] = i
	}
	for _, c := range sets {
		if _, ok := col[c]; !ok {
			return fmt.Errorf("registry tenants table has no %s column", c)
		}
	}

	batch := max(1, 5000/len(cols)) // rows per statement: well under both dialects' parameter limits
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	head := "INSERT INTO tenants (" + strings.Join(cols, ", ") + ") VALUES "
	for done := 0; done < n; {
		k := min(batch, n-done)
		var q strings.Builder
		q.WriteString(head)
		args := make([]any, 0, k*len(cols))
		for i := range k {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(")
			for j := range cols {
				if j > 0 {
					q.WriteString(", ")
				}
				fmt.Fprintf(&q, "$%d", len(args)+j+1)
			}
			q.WriteString(")")
			row := append([]any(nil), vals...)
			var unnamed string
			edit(done+i, func(c string, v any) {
				if !slices.Contains(sets, c) {
					unnamed = c
					return
				}
				row[col[c]] = v
			})
			if unnamed != "" {
				return fmt.Errorf("copyTenantRow: column %s set but not named in sets", unnamed)
			}
			args = append(args, row...)
		}
		if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
		done += k
	}
	return tx.Commit()
}
