package webhooks

import (
	"context"
	"database/sql"
	"encoding/json"

	"github.com/steeple-sms/steeple/secret"
)

// PendingSealedKeys counts the events waiting in the queue (not yet
// applied) by the key that sealed their payload: a key they use must not
// be retired. Applied events' jobs are not counted; their payloads are
// never read again.
func PendingSealedKeys(ctx context.Context, registry *sql.DB) (map[byte]int, error) {
	rows, err := registry.QueryContext(ctx, `SELECT args FROM river_job
		WHERE kind = $1 AND state IN ('available', 'pending', 'retryable', 'running', 'scheduled')`, EventArgs{}.Kind())
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	counts := map[byte]int{}
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		var a EventArgs
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, err
		}
		counts[secret.KeyID(a.SealedPayload)]++
	}
	return counts, rows.Err()
}
