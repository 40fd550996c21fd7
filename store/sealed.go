package store

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"strings"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/secret"
	"github.com/steeple-sms/steeple/tenancy"
)

// sealedColumn is a column of sealed values, the AAD they are sealed with
// and the key of its table (to rewrite one row).
type sealedColumn struct {
	table  string
	key    []string
	column string
	aad    []byte
}

// sealedColumns are every sealed value of a church's database (a test
// checks that each *_cipher column of the schema is listed).
var sealedColumns = []sealedColumn{
	{"admins", []string{"id"}, "email_cipher", emailAAD},
	{"admins", []string{"id"}, "phone_cipher", adminPhoneAAD},
	{"admins", []string{"id"}, "totp_cipher", totpAAD},
	{"admins", []string{"id"}, "totp_pending_cipher", totpAAD},
	{"members", []string{"id"}, "phone_cipher", phoneAAD},
	{"members", []string{"id"}, "email_cipher", memberEmailAAD},
	{"message_recipients", []string{"message_id", "member_id"}, "phone_cipher", phoneAAD},
	{"conversations", []string{"id"}, "phone_cipher", phoneAAD},
	{"invitations", []string{"id"}, "email_cipher", invitationAAD},
	{"audit_log", []string{"seq"}, "personal_cipher", auditAAD},
	{"import_uploads", []string{"id"}, "file_cipher", importFileAAD},
	{"import_uploads", []string{"id"}, "invalid_cipher", importInvalidAAD},
	{"import_uploads", []string{"id"}, "summary_cipher", importSummaryAAD},
	{"registration", []string{"id"}, "ein_cipher", einAAD},
}

// keyIDExpr is SQL giving, as two hex digits, the id of the key that
// sealed col (its second byte; see secret.Seal).
func keyIDExpr(h *tenancy.Handle, col string) string {
	if h.Backend() == steeple.BackendPostgres {
		return "lpad(to_hex(get_byte(" + col + ", 1)), 2, '0')"
	}
	return "lower(hex(substr(" + col + ", 2, 1)))"
}

// SealedCounts counts the church's sealed values by the id of the key that
// sealed them: what `steeple keys status` shows, and what must reach zero
// before a key is retired.
func (s *Store) SealedCounts(ctx context.Context, h *tenancy.Handle) (map[byte]int, error) {
	counts := map[byte]int{}
	for _, c := range sealedColumns {
		rows, err := h.QueryContext(ctx, fmt.Sprintf(`SELECT %s, COUNT(*) FROM %s WHERE %s IS NOT NULL AND length(%[3]s) > 2 GROUP BY 1`,
			keyIDExpr(h, c.column), c.table, c.column))
		if err != nil {
			return nil, fmt.Errorf("%s.%s: %w", c.table, c.column, err)
		}
		for rows.Next() {
			var id string
			var n int
			if err := rows.Scan(&id, &n); err != nil {
				rows.Close()
				return nil, err
			}
			b, err := hex.DecodeString(id)
			if err != nil || len(b) != 1 {
				rows.Close()
				return nil, fmt.Errorf("%s.%s: key id %q", c.table, c.column, id)
			}
			counts[b[0]] += n
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return counts, nil
}

// resealBatch is how many values one transaction rewrites.
const resealBatch = 1000

// Reseal re-encrypts with the active key every sealed value of the church
// that another key sealed, a batch per transaction, calling progress after
// each batch with the values rewritten so far. It can be stopped and run
// again at any time: it only looks at values not yet under the active key,
// and a row rewritten meanwhile (by the app, already with the active key)
// is left as it is.
func (s *Store) Reseal(ctx context.Context, h *tenancy.Handle, progress func(done int)) (int, error) {
	active := fmt.Sprintf("%02x", s.keys.ActiveKeyID())
	done := 0
	for _, c := range sealedColumns {
		for {
			n, err := s.resealBatch(ctx, h, c, active)
			if err != nil {
				return done, fmt.Errorf("%s.%s: %w", c.table, c.column, err)
			}
			done += n
			if n > 0 && progress != nil {
				progress(done)
			}
			if n < resealBatch {
				break
			}
		}
	}
	return done, nil
}

// resealBatch rewrites up to resealBatch values of c not sealed with the
// active key; each rewrite checks the old value is still there.
func (s *Store) resealBatch(ctx context.Context, h *tenancy.Handle, c sealedColumn, active string) (int, error) {
	keys := strings.Join(c.key, ", ")
	n := 0
	err := h.InTx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, fmt.Sprintf(`SELECT %[1]s, %[2]s FROM %[3]s WHERE %[2]s IS NOT NULL AND length(%[2]s) > 2 AND %[4]s <> $1 ORDER BY %[1]s LIMIT %[5]d`,
			keys, c.column, c.table, keyIDExpr(h, c.column), resealBatch), active)
		if err != nil {
			return err
		}
		type change struct {
			key      []any
			old, new []byte
		}
		var changes []change
		for rows.Next() {
			ch := change{key: make([]any, len(c.key))}
			dest := make([]any, 0, len(c.key)+1)
			for i := range ch.key {
				dest = append(dest, &ch.key[i])
			}
			if err := rows.Scan(append(dest, &ch.old)...); err != nil {
				rows.Close()
				return err
			}
			plain, err := s.keys.Open(ch.old, c.aad)
			if err != nil {
				rows.Close()
				return fmt.Errorf("a value sealed with key %d does not open: %w", secret.KeyID(ch.old), err)
			}
			ch.new = s.keys.Seal(plain, c.aad)
			changes = append(changes, ch)
		}
		if err := rows.Close(); err != nil {
			return err
		}
		where := make([]string, len(c.key))
		for i, k := range c.key {
			where[i] = fmt.Sprintf("%s = $%d", k, i+3)
		}
		stmt, err := tx.PrepareContext(ctx, fmt.Sprintf(`UPDATE %s SET %s = $1 WHERE %[2]s = $2 AND %s`, c.table, c.column, strings.Join(where, " AND ")))
		if err != nil {
			return err
		}
		defer stmt.Close()
		for _, ch := range changes {
			if _, err := stmt.ExecContext(ctx, append([]any{ch.new, ch.old}, ch.key...)...); err != nil {
				return err
			}
		}
		n = len(changes)
		return nil
	})
	return n, err
}

// SealedColumnNames are the sealed columns, as "table.column".
func SealedColumnNames() []string {
	out := make([]string, len(sealedColumns))
	for i, c := range sealedColumns {
		out[i] = c.table + "." + c.column
	}
	return out
}
