package messaging

import (
	"bytes"
	"context"
	"encoding/csv"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/store"
	"github.com/steeple-sms/steeple/tenancy"
)

// Recipients returns a page of a broadcast's recipients with their names
// and phones, and the cursor of the next page ("" after the last).
// Errors: ENOTFOUND, EINVALID naming status.
func (s *Service) Recipients(ctx context.Context, h *tenancy.Handle, id string, f store.RecipientFilter) ([]store.RecipientRow, string, error) {
	if f.Status != "" {
		if _, err := steeple.ParseRecipientStatus(string(f.Status)); err != nil {
			return nil, "", err
		}
	}
	if _, _, err := s.store.BroadcastStopped(ctx, h, id); err != nil {
		return nil, "", err
	}
	limit := f.Limit
	if limit > 0 {
		f.Limit++ // one more says whether there is a next page
	}
	rows, err := s.store.RecipientRows(ctx, h, id, f)
	if err != nil {
		return nil, "", err
	}
	next := ""
	if limit > 0 && len(rows) > limit {
		rows = rows[:limit]
		next = rows[limit-1].MemberID
	}
	return rows, next, nil
}

// RecipientsCSV is every recipient of a broadcast (of one status, if
// given) as a CSV file, built in memory. Errors as Recipients.
func (s *Service) RecipientsCSV(ctx context.Context, h *tenancy.Handle, id string, status steeple.RecipientStatus) ([]byte, error) {
	rows, _, err := s.Recipients(ctx, h, id, store.RecipientFilter{Status: status})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write([]string{"First name", "Last name", "Phone", "Status", "Error code", "Detail", "Sent at", "Finished at"})
	for _, r := range rows {
		_ = w.Write([]string{csvSafe(r.FirstName), csvSafe(r.LastName), r.Phone, string(r.Status), csvSafe(r.ErrorCode),
			csvSafe(r.ErrorDetail), csvTime(r.SentAt), csvTime(r.FinishedAt)})
	}
	w.Flush()
	return buf.Bytes(), w.Error()
}

// csvSafe keeps a cell from being run as a formula in a spreadsheet.
func csvSafe(c string) string {
	if c != "" && strings.ContainsRune("=+-@\t\r", rune(c[0])) {
		return "'" + c
	}
	return c
}

func csvTime(t *time.Time) string {
	if t == nil {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
