package schedule

import (
	"context"
	"time"
)

// Fire runs one fire job's work, as River would (tests fire an occurrence
// twice, or again after it died part way).
func (s *Service) Fire(ctx context.Context, a FireArgs) error { return s.fire(ctx, a) }

// OnceKey is the occurrence key of a scheduled broadcast due at at.
func OnceKey(at time.Time) string { return onceKey(at) }

// OccurrenceID is the id of the broadcast an occurrence makes.
func OccurrenceID(scheduleID, key string) string { return occurrenceID(scheduleID, key) }

// Abandon is what the last failed try of a fire job does.
func (s *Service) Abandon(ctx context.Context, a FireArgs, cause error) error {
	return s.abandon(ctx, a, cause)
}
