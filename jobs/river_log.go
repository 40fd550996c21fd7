package jobs

import (
	"context"
	"log/slog"
)

// routineAtDebug hands River's routine INFO lines (job counts every few
// seconds, leadership, start and stop) to the log at DEBUG, where they do
// not bury an operator's log; River's warnings and errors pass unchanged.
type routineAtDebug struct{ next slog.Handler }

// quietRiver returns log with River's INFO lines turned into DEBUG ones
// (nil stays nil).
func quietRiver(log *slog.Logger) *slog.Logger {
	if log == nil {
		return nil
	}
	return slog.New(routineAtDebug{log.Handler()})
}

func demote(l slog.Level) slog.Level {
	if l >= slog.LevelWarn || l <= slog.LevelDebug {
		return l
	}
	return slog.LevelDebug
}

func (h routineAtDebug) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, demote(l))
}

func (h routineAtDebug) Handle(ctx context.Context, r slog.Record) error {
	r.Level = demote(r.Level)
	return h.next.Handle(ctx, r)
}

func (h routineAtDebug) WithAttrs(as []slog.Attr) slog.Handler {
	return routineAtDebug{h.next.WithAttrs(as)}
}

func (h routineAtDebug) WithGroup(name string) slog.Handler {
	return routineAtDebug{h.next.WithGroup(name)}
}
