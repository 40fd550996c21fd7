package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/steeple-sms/steeple"
	"github.com/steeple-sms/steeple/tenancy"
)

// Schedule is a scheduled or recurring broadcast as stored; Rule and
// Message (the message it sends) are JSON the schedule package reads.
type Schedule struct {
	ID      string                 `json:"id"`
	Kind    steeple.ScheduleKind   `json:"kind"`
	Status  steeple.ScheduleStatus `json:"status"`
	Name    string                 `json:"name,omitempty"`
	SendAt  *time.Time             `json:"send_at,omitempty"`
	Rule    json.RawMessage        `json:"rule,omitempty"`
	Message json.RawMessage        `json:"request"`
	NextKey string                 `json:"-"`
	NextAt  *time.Time             `json:"next_at,omitempty"`
	// Firing is the occurrence being sent ("" when none); see SaveSchedule
	// for Version.
	Firing    string    `json:"-"`
	Version   int64     `json:"-"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

const scheduleColumns = `id, kind, status, name, send_at, rule, request, next_key, next_at, firing, version, created_by,
	created_at, updated_at FROM schedules`

func scanSchedule(row interface{ Scan(...any) error }) (*Schedule, error) {
	var sc Schedule
	var sendAt, nextAt sql.NullTime
	var rule, req string
	if err := row.Scan(&sc.ID, &sc.Kind, &sc.Status, &sc.Name, &sendAt, &rule, &req, &sc.NextKey, &nextAt, &sc.Firing,
		&sc.Version, &sc.CreatedBy, &sc.CreatedAt, &sc.UpdatedAt); err != nil {
		return nil, err
	}
	sc.SendAt, sc.NextAt = utcPtr(sendAt), utcPtr(nextAt)
	if rule != "" {
		sc.Rule = json.RawMessage(rule)
	}
	sc.Message = json.RawMessage(req)
	sc.CreatedAt, sc.UpdatedAt = sc.CreatedAt.UTC(), sc.UpdatedAt.UTC()
	return &sc, nil
}

// SaveSchedule inserts a schedule, or replaces it if it is still the
// version sc was read at (then sc.Version moves on). Errors: ECONFLICT when
// it was saved meanwhile (by an admin, or by a firing occurrence).
func (s *Store) SaveSchedule(ctx context.Context, h *tenancy.Handle, sc *Schedule) error {
	now := s.Now()
	if sc.CreatedAt.IsZero() {
		sc.CreatedAt = now
	}
	res, err := h.ExecContext(ctx, `INSERT INTO schedules (id, kind, status, name, send_at, rule, request, next_key, next_at,
		firing, version, created_by, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 1, $11, $12, $13)
		ON CONFLICT (id) DO UPDATE SET status = $3, name = $4, send_at = $5, rule = $6, request = $7, next_key = $8,
		next_at = $9, firing = $10, version = schedules.version + 1, updated_at = $13 WHERE schedules.version = $14`,
		sc.ID, sc.Kind, sc.Status, sc.Name, timePtr(sc.SendAt), string(sc.Rule), string(sc.Message), sc.NextKey,
		timePtr(sc.NextAt), sc.Firing, sc.CreatedBy, sc.CreatedAt, now, sc.Version)
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return &steeple.Error{Code: steeple.ECONFLICT, Message: "the schedule was changed meanwhile; load it again and retry", Err: err}
	}
	sc.Version++
	sc.UpdatedAt = now
	return nil
}

// Schedule returns one schedule. Errors: ENOTFOUND.
func (s *Store) Schedule(ctx context.Context, h *tenancy.Handle, id string) (*Schedule, error) {
	sc, err := scanSchedule(h.QueryRowContext(ctx, `SELECT `+scheduleColumns+` WHERE id = $1`, id))
	return sc, translate(err, "schedule")
}

// Schedules lists a kind's schedules not cancelled or done, soonest first.
func (s *Store) Schedules(ctx context.Context, h *tenancy.Handle, kind steeple.ScheduleKind) ([]*Schedule, error) {
	rows, err := h.QueryContext(ctx, `SELECT `+scheduleColumns+` WHERE kind = $1 AND status IN ('active', 'paused')
		ORDER BY next_at, id`, kind)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []*Schedule{}
	for rows.Next() {
		sc, err := scanSchedule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, sc)
	}
	return out, rows.Err()
}

// notSentPrefix marks a run that sent nothing in schedule_runs.message_id:
// the column (NOT NULL) holds either a broadcast id or this prefix and the
// reason. Only this file reads or writes it; callers see ScheduleRun.
const notSentPrefix = "not sent: "

// RecordRun notes that an occurrence fired (once; a repeat changes
// nothing): the broadcast it made, or why nothing was sent.
func (s *Store) RecordRun(ctx context.Context, h *tenancy.Handle, scheduleID string, run steeple.ScheduleRun) error {
	stored := run.MessageID
	if stored == "" {
		stored = notSentPrefix + run.NotSent
	}
	_, err := h.ExecContext(ctx, `INSERT INTO schedule_runs (schedule_id, occurrence, message_id, fired_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT DO NOTHING`, scheduleID, run.Occurrence, stored, s.Now())
	return err
}

// ScheduleRuns lists a schedule's latest occurrences, newest first.
func (s *Store) ScheduleRuns(ctx context.Context, h *tenancy.Handle, scheduleID string, limit int) ([]steeple.ScheduleRun, error) {
	rows, err := h.QueryContext(ctx, `SELECT occurrence, message_id, fired_at FROM schedule_runs WHERE schedule_id = $1
		ORDER BY occurrence DESC LIMIT $2`, scheduleID, limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []steeple.ScheduleRun{}
	for rows.Next() {
		var r steeple.ScheduleRun
		if err := rows.Scan(&r.Occurrence, &r.MessageID, &r.FiredAt); err != nil {
			return nil, err
		}
		if reason, ok := strings.CutPrefix(r.MessageID, notSentPrefix); ok {
			r.MessageID, r.NotSent = "", reason
		}
		r.FiredAt = r.FiredAt.UTC()
		out = append(out, r)
	}
	return out, rows.Err()
}

func timePtr(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC()
}
